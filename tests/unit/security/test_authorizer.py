"""StandardAuthorizer semantics without sockets: deny wins, implied operations, patterns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from embedded_broker.damaged import DamagedFileError
from embedded_broker.handlers import API_TABLE
from embedded_broker.handlers.authz import CHECKS
from embedded_broker.security.acl import (
    CLUSTER_NAME,
    AclBinding,
    AclFilter,
    Operation,
    PatternType,
    Permission,
    ResourceType,
)
from embedded_broker.security.authorizer import Authorizer

BOB = "User:bob"
HOST = "10.0.0.5"
T = ResourceType.TOPIC


def acl(
    name: str,
    op: Operation,
    *,
    pattern: PatternType = PatternType.LITERAL,
    permission: Permission = Permission.ALLOW,
    principal: str = BOB,
    host: str = "*",
    rtype: ResourceType = T,
) -> AclBinding:
    return AclBinding(rtype, name, pattern, principal, host, op, permission)


def test_every_served_api_has_a_row_in_the_check_table() -> None:
    assert set(API_TABLE) <= set(CHECKS)


def test_deny_wins_over_a_broader_allow() -> None:
    az = Authorizer(None)
    az.add([acl("pay-", Operation.WRITE, pattern=PatternType.PREFIXED)])
    az.add([acl("pay-secret", Operation.WRITE, permission=Permission.DENY)])
    assert az.authorize(BOB, HOST, Operation.WRITE, T, "pay-orders")
    assert not az.authorize(BOB, HOST, Operation.WRITE, T, "pay-secret")


def test_implied_operations_allow_but_never_deny() -> None:
    az = Authorizer(None)
    az.add([acl("t", Operation.READ), acl("c", Operation.ALTER_CONFIGS)])
    assert az.authorize(BOB, HOST, Operation.DESCRIBE, T, "t")
    assert az.authorize(BOB, HOST, Operation.DESCRIBE_CONFIGS, T, "c")
    assert not az.authorize(BOB, HOST, Operation.WRITE, T, "t")
    az.add([acl("t", Operation.READ, permission=Permission.DENY)])
    assert not az.authorize(BOB, HOST, Operation.READ, T, "t")
    # a DENY of Read denies only Read: the ALLOW of Read still implies Describe
    assert az.authorize(BOB, HOST, Operation.DESCRIBE, T, "t")


def test_super_users_wildcards_hosts_and_the_no_acl_rule() -> None:
    az = Authorizer(None, supers=frozenset({"User:admin"}), allow_if_no_acl=True)
    assert az.authorize("User:admin", HOST, Operation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)
    assert az.authorize(BOB, HOST, Operation.READ, T, "nobody-named-it")
    az.add([acl("*", Operation.READ, principal="User:*", host="10.0.0.9")])
    assert not az.authorize(BOB, HOST, Operation.READ, T, "named")  # an ACL exists: no fallback
    assert az.authorize(BOB, "10.0.0.9", Operation.READ, T, "named")
    assert not Authorizer(None).authorize(BOB, HOST, Operation.READ, T, "nobody-named-it")


def test_authorize_any_for_idempotent_producers() -> None:
    az = Authorizer(None)
    assert not az.authorize_any(BOB, HOST, Operation.WRITE, T)
    az.add([acl("logs-", Operation.WRITE, pattern=PatternType.PREFIXED)])
    assert az.authorize_any(BOB, HOST, Operation.WRITE, T)
    az.add([acl("*", Operation.WRITE, permission=Permission.DENY)])
    assert not az.authorize_any(BOB, HOST, Operation.WRITE, T)


def test_match_filter_finds_every_pattern_that_applies() -> None:
    az = Authorizer(None)
    literal, wildcard = acl("orders", Operation.READ), acl("*", Operation.READ)
    prefixed = acl("ord", Operation.READ, pattern=PatternType.PREFIXED)
    other = acl("payments", Operation.READ)
    az.add([literal, wildcard, prefixed, other])
    match = AclFilter(T, "orders", PatternType.MATCH, None, None, Operation.ANY, Permission.ANY)
    assert set(az.bindings(match)) == {literal, wildcard, prefixed}
    exact = AclFilter(T, "orders", PatternType.ANY, None, None, Operation.ANY, Permission.ANY)
    assert az.bindings(exact) == [literal]


@pytest.mark.parametrize(
    ("binding", "reason"),
    [
        (acl("x", Operation.READ, rtype=ResourceType.CLUSTER), "kafka-cluster"),
        (acl("", Operation.READ), "empty resource name"),
        (acl("x", Operation.ANY), "Invalid operation"),
        (acl("x", Operation.READ, pattern=PatternType.MATCH), "Invalid patternType"),
        (acl("x", Operation.READ, principal="bob"), "Could not parse principal"),
    ],
)
def test_invalid_bindings_are_refused_with_kafkas_reason(binding: AclBinding, reason: str) -> None:
    assert reason in (binding.invalid_reason() or "")


def test_acls_are_kept_in_the_data_dir(tmp_path: Path) -> None:
    az = Authorizer(tmp_path)
    az.add([acl("t", Operation.READ)])
    asyncio.run(az.persist())
    assert Authorizer(tmp_path).bindings() == [acl("t", Operation.READ)]
    (tmp_path / "acls.json").write_text("{not json")
    with pytest.raises(DamagedFileError, match=r"acls\.json"):
        Authorizer(tmp_path)
