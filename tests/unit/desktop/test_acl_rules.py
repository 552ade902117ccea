"""Kafka's authorization rule over ACL bindings, as the "check a principal" screen computes it."""

from __future__ import annotations

from desktop.domain.acl import (
    AclEntry,
    Operation,
    PatternKind,
    Permission,
    ResourceKind,
    decide,
    topic_rights,
)

BOB = "User:bob"
T = ResourceKind.TOPIC


def acl(
    name: str,
    op: Operation,
    *,
    pattern: PatternKind = PatternKind.LITERAL,
    permission: Permission = Permission.ALLOW,
    principal: str = BOB,
    host: str = "*",
) -> AclEntry:
    return AclEntry(principal, T, name, pattern, op, permission, host)


def test_no_binding_denies_unless_allow_everyone_is_set() -> None:
    assert not decide([], BOB, T, "orders", Operation.READ).allowed
    assert decide([], BOB, T, "orders", Operation.READ, allow_if_no_acl=True).allowed
    # a binding on the topic for someone else: allow.everyone.if.no.acl.found no longer applies
    other = [acl("orders", Operation.READ, principal="User:carol")]
    assert not decide(other, BOB, T, "orders", Operation.READ, allow_if_no_acl=True).allowed


def test_literal_prefixed_and_wildcard_patterns_match() -> None:
    literal = [acl("orders", Operation.READ)]
    assert decide(literal, BOB, T, "orders", Operation.READ).allowed
    assert not decide(literal, BOB, T, "orders.v2", Operation.READ).allowed
    prefixed = [acl("orders.", Operation.READ, pattern=PatternKind.PREFIXED)]
    assert decide(prefixed, BOB, T, "orders.v2", Operation.READ).allowed
    assert not decide(prefixed, BOB, T, "order", Operation.READ).allowed
    wildcard = [acl("*", Operation.WRITE)]
    assert decide(wildcard, BOB, T, "anything", Operation.WRITE).allowed
    # a prefixed "*" is a prefix, not the wildcard
    star_prefix = [acl("*", Operation.WRITE, pattern=PatternKind.PREFIXED)]
    assert not decide(star_prefix, BOB, T, "anything", Operation.WRITE).allowed


def test_deny_wins_over_allow() -> None:
    bindings = [
        acl("orders.", Operation.ALL, pattern=PatternKind.PREFIXED),
        acl("orders.secret", Operation.READ, permission=Permission.DENY),
    ]
    d = decide(bindings, BOB, T, "orders.secret", Operation.READ)
    assert not d.allowed
    assert d.because == (bindings[1],)
    assert decide(bindings, BOB, T, "orders.secret", Operation.WRITE).allowed
    # a DENY of ALL denies every operation; a DENY of READ does not deny DESCRIBE
    deny_all = [*bindings, acl("orders.x", Operation.ALL, permission=Permission.DENY)]
    assert not decide(deny_all, BOB, T, "orders.x", Operation.DESCRIBE).allowed
    assert decide(bindings, BOB, T, "orders.secret", Operation.DESCRIBE).allowed


def test_implied_operations() -> None:
    for op in (Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER):
        assert decide([acl("t", op)], BOB, T, "t", Operation.DESCRIBE).allowed
    alter_configs = [acl("t", Operation.ALTER_CONFIGS)]
    assert decide(alter_configs, BOB, T, "t", Operation.DESCRIBE_CONFIGS).allowed
    assert not decide([acl("t", Operation.READ)], BOB, T, "t", Operation.WRITE).allowed
    assert not decide([acl("t", Operation.DESCRIBE)], BOB, T, "t", Operation.READ).allowed


def test_principal_and_host_matching() -> None:
    anyone = [acl("t", Operation.READ, principal="User:*")]
    assert decide(anyone, BOB, T, "t", Operation.READ).allowed
    from_host = [acl("t", Operation.READ, host="10.0.0.5")]
    assert decide(from_host, BOB, T, "t", Operation.READ, host="10.0.0.5").allowed
    assert not decide(from_host, BOB, T, "t", Operation.READ, host="10.0.0.6").allowed
    group = [
        AclEntry(
            BOB, ResourceKind.GROUP, "t", PatternKind.LITERAL, Operation.READ, Permission.ALLOW
        )
    ]
    assert not decide(group, BOB, T, "t", Operation.READ).allowed  # another resource type


def test_topic_rights_lists_every_topic_operation() -> None:
    rights = topic_rights([acl("t", Operation.WRITE)], BOB, "t")
    allowed = {d.operation for d in rights if d.allowed}
    assert allowed == {Operation.WRITE, Operation.DESCRIBE}
    assert len(rights) == 8


def test_binding_in_words() -> None:
    text = acl("orders.", Operation.WRITE, pattern=PatternKind.PREFIXED).describe()
    assert text == (
        "allow User:bob from any host to WRITE on every topic whose name starts with 'orders.'"
    )
    assert "DENY" in acl("x", Operation.READ, permission=Permission.DENY).describe()
