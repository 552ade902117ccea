"""ACL bindings, SCRAM users and Kafka's authorization rule over bindings, as pure data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ResourceKind(StrEnum):
    TOPIC = "TOPIC"
    GROUP = "GROUP"
    CLUSTER = "CLUSTER"
    TRANSACTIONAL_ID = "TRANSACTIONAL_ID"


class PatternKind(StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


class Permission(StrEnum):
    ALLOW = "ALLOW"
    DENY = "DENY"


class Operation(StrEnum):
    ALL = "ALL"
    READ = "READ"
    WRITE = "WRITE"
    CREATE = "CREATE"
    DELETE = "DELETE"
    ALTER = "ALTER"
    DESCRIBE = "DESCRIBE"
    CLUSTER_ACTION = "CLUSTER_ACTION"
    DESCRIBE_CONFIGS = "DESCRIBE_CONFIGS"
    ALTER_CONFIGS = "ALTER_CONFIGS"
    IDEMPOTENT_WRITE = "IDEMPOTENT_WRITE"


WILDCARD = "*"
ANY_HOST = "*"
ANYONE = "User:*"

# The operations Kafka checks on a topic (the "what can this principal do" rows).
TOPIC_OPERATIONS = (
    Operation.READ,
    Operation.WRITE,
    Operation.CREATE,
    Operation.DELETE,
    Operation.ALTER,
    Operation.DESCRIBE,
    Operation.DESCRIBE_CONFIGS,
    Operation.ALTER_CONFIGS,
)

# An ALLOW of any of these also allows the key (Kafka's implied operations); DENY never implies.
IMPLIED_BY = {
    Operation.DESCRIBE: (Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER),
    Operation.DESCRIBE_CONFIGS: (Operation.ALTER_CONFIGS,),
}


@dataclass(frozen=True, order=True)
class AclEntry:
    """One ACL binding: `principal` from `host` is allowed/denied `operation` on a resource."""

    principal: str
    resource: ResourceKind
    name: str
    pattern: PatternKind
    operation: Operation
    permission: Permission
    host: str = ANY_HOST

    def describe(self) -> str:
        """The binding in words, as the create and delete previews show it."""
        what = f"{self.pattern.value.lower()} {self.resource.value.lower()} '{self.name}'"
        if self.pattern is PatternKind.PREFIXED:
            what = f"every {self.resource.value.lower()} whose name starts with '{self.name}'"
        elif self.name == WILDCARD:
            what = f"every {self.resource.value.lower()}"
        host = "any host" if self.host == ANY_HOST else f"host {self.host}"
        verb = "allow" if self.permission is Permission.ALLOW else "DENY"
        return f"{verb} {self.principal} from {host} to {self.operation.value} on {what}"

    def matches_resource(self, kind: ResourceKind, name: str) -> bool:
        if self.resource is not kind:
            return False
        if self.pattern is PatternKind.PREFIXED:
            return name.startswith(self.name)
        return self.name in (name, WILDCARD)

    def applies_to(self, principal: str, host: str) -> bool:
        return self.principal in (principal, ANYONE) and self.host in (host, ANY_HOST)


@dataclass(frozen=True)
class AclFilter:
    """What the ACL list shows (and a delete removes); None or "" means any."""

    principal: str = ""
    resource: ResourceKind | None = None
    name: str = ""
    pattern: PatternKind | None = None

    @property
    def empty(self) -> bool:
        return not self.principal and self.resource is None and not self.name and not self.pattern


@dataclass(frozen=True)
class Decision:
    """Whether one operation is allowed, why, and the bindings that decided it."""

    operation: Operation
    allowed: bool
    reason: str
    because: tuple[AclEntry, ...] = ()


def allows(acl: AclEntry, operation: Operation) -> bool:
    if acl.operation in (operation, Operation.ALL):
        return True
    return acl.operation in IMPLIED_BY.get(operation, ())


def decide(
    bindings: tuple[AclEntry, ...] | list[AclEntry],
    principal: str,
    kind: ResourceKind,
    name: str,
    operation: Operation,
    *,
    host: str = ANY_HOST,
    allow_if_no_acl: bool = False,
) -> Decision:
    """Kafka's StandardAuthorizer rule for one operation (super users aside: the client can't
    see them). Deny wins; literal, wildcard and prefixed patterns match; ALL and the implied
    operations allow; with no binding on the resource, `allow.everyone.if.no.acl.found` decides."""
    on_resource = [b for b in bindings if b.matches_resource(kind, name)]
    mine = [b for b in on_resource if b.applies_to(principal, host)]
    denies = tuple(
        b
        for b in mine
        if b.permission is Permission.DENY and b.operation in (operation, Operation.ALL)
    )
    if denies:
        return Decision(operation, False, "denied by a DENY binding (deny wins)", denies)
    grants = tuple(b for b in mine if b.permission is Permission.ALLOW and allows(b, operation))
    if grants:
        return Decision(operation, True, "allowed", grants)
    if not on_resource and allow_if_no_acl:
        return Decision(operation, True, "no binding on it; allow.everyone.if.no.acl.found")
    return Decision(operation, False, "no binding allows it")


def topic_rights(
    bindings: tuple[AclEntry, ...] | list[AclEntry],
    principal: str,
    topic: str,
    host: str = ANY_HOST,
) -> tuple[Decision, ...]:
    """Every topic operation for `principal` on `topic`."""
    return tuple(
        decide(bindings, principal, ResourceKind.TOPIC, topic, op, host=host)
        for op in TOPIC_OPERATIONS
    )


def matches_filter(acl: AclEntry, f: AclFilter) -> bool:
    """The filter as the list applies it (the same fields describe_acls is given)."""
    return (
        (not f.principal or acl.principal == f.principal)
        and (f.resource is None or acl.resource is f.resource)
        and (not f.name or acl.name == f.name)
        and (f.pattern is None or acl.pattern is f.pattern)
    )


@dataclass(frozen=True)
class ScramChange:
    """Add a user or set their password for one mechanism; the password never shows in repr."""

    user: str
    mechanism: str
    iterations: int
    password: str = field(repr=False)


@dataclass(frozen=True)
class ScramUser:
    """One user's SCRAM credentials: (mechanism, iterations) pairs, never a secret."""

    name: str
    credentials: tuple[tuple[str, int], ...]

    @property
    def mechanisms(self) -> str:
        return ", ".join(m for m, _ in self.credentials)

    @property
    def iterations(self) -> str:
        return ", ".join(str(i) for _, i in self.credentials)
