"""ACL bindings and filters with Kafka's codes and matching rules (resource patterns, entries)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

WILDCARD = "*"  # a LITERAL resource name, principal or host that matches every one
CLUSTER_NAME = "kafka-cluster"  # the one name of the CLUSTER resource


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class Permission(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


# An ALLOW of these operations also allows the key (Kafka's implied operations); a DENY only
# denies the operation it names (or ALL).
IMPLIED_BY: dict[Operation, frozenset[Operation]] = {
    Operation.DESCRIBE: frozenset(
        {Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER}
    ),
    Operation.DESCRIBE_CONFIGS: frozenset({Operation.ALTER_CONFIGS}),
}


E = TypeVar("E", bound=IntEnum)


def _enum_or_unknown(kind: type[E], value: int) -> E:
    try:
        return kind(value)
    except ValueError:
        return kind(0)


@dataclass(frozen=True, slots=True, order=True)
class AclBinding:
    """One ACL: a resource pattern and an access entry (as Kafka's AclBinding)."""

    resource_type: ResourceType
    name: str
    pattern_type: PatternType
    principal: str
    host: str
    operation: Operation
    permission: Permission

    def covers(self, resource_type: ResourceType, name: str) -> bool:
        """Whether this binding's pattern applies to the resource ``name`` of that type."""
        if self.resource_type != resource_type:
            return False
        if self.pattern_type == PatternType.PREFIXED:
            return name.startswith(self.name)
        return self.name in (name, WILDCARD)

    def grants(self, operation: Operation) -> bool:
        """Whether this entry's operation decides ``operation`` (with implied operations)."""
        if self.operation in (operation, Operation.ALL):
            return True
        return self.permission == Permission.ALLOW and self.operation in IMPLIED_BY.get(
            operation, frozenset()
        )

    def invalid_reason(self) -> str | None:
        """Why Kafka refuses to create this binding, or None."""
        if self.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
            return f"Invalid patternType {self.pattern_type.name}"
        if self.resource_type in (ResourceType.UNKNOWN, ResourceType.ANY):
            return f"Invalid resourceType {self.resource_type.name}"
        if self.operation in (Operation.UNKNOWN, Operation.ANY):
            return f"Invalid operation {self.operation.name}"
        if self.permission not in (Permission.ALLOW, Permission.DENY):
            return f"Invalid permissionType {self.permission.name}"
        if not self.name:
            return "Invalid empty resource name"
        if self.resource_type == ResourceType.CLUSTER and self.name != CLUSTER_NAME:
            return f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        kind, sep, who = self.principal.partition(":")
        if not sep or not kind or not who:
            return f"Could not parse principal from `{self.principal}` (no colon is found)"
        if not self.host:
            return "Invalid empty host"
        return None


def binding(
    resource_type: int,
    name: str,
    pattern_type: int,
    *,
    principal: str,
    host: str,
    operation: int,
    permission: int,
) -> AclBinding:
    """An AclBinding from wire codes (unknown codes become UNKNOWN, refused by invalid_reason)."""
    return AclBinding(
        _enum_or_unknown(ResourceType, resource_type),
        name,
        _enum_or_unknown(PatternType, pattern_type),
        principal,
        host,
        _enum_or_unknown(Operation, operation),
        _enum_or_unknown(Permission, permission),
    )


@dataclass(frozen=True, slots=True)
class AclFilter:
    """A DescribeAcls / DeleteAcls filter (Kafka's AclBindingFilter): None matches anything."""

    resource_type: ResourceType
    name: str | None
    pattern_type: PatternType
    principal: str | None
    host: str | None
    operation: Operation
    permission: Permission

    @classmethod
    def from_wire(cls, item: Any, *, pattern_type: int | None = None) -> AclFilter:
        """From a kio filter (DescribeAclsRequest or DeleteAclsFilter)."""
        pattern = pattern_type if pattern_type is not None else item.pattern_type_filter
        return cls(
            _enum_or_unknown(ResourceType, int(item.resource_type_filter)),
            item.resource_name_filter,
            _enum_or_unknown(PatternType, int(pattern)),
            item.principal_filter,
            item.host_filter,
            _enum_or_unknown(Operation, int(item.operation)),
            _enum_or_unknown(Permission, int(item.permission_type)),
        )

    def invalid_reason(self) -> str | None:
        for value, label in (
            (self.resource_type, "resource type"),
            (self.pattern_type, "pattern type"),
            (self.operation, "operation"),
            (self.permission, "permission type"),
        ):
            if value == 0:
                return f"The filter has an unknown {label}"
        return None

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type not in (ResourceType.ANY, acl.resource_type):
            return False
        if self.pattern_type not in (PatternType.ANY, PatternType.MATCH, acl.pattern_type):
            return False
        if self.name is not None and not self._name_matches(acl):
            return False
        if self.principal is not None and self.principal != acl.principal:
            return False
        if self.host is not None and self.host != acl.host:
            return False
        if self.operation not in (Operation.ANY, acl.operation):
            return False
        return self.permission in (Permission.ANY, acl.permission)

    def _name_matches(self, acl: AclBinding) -> bool:
        name = self.name
        assert name is not None
        if self.pattern_type in (PatternType.ANY, acl.pattern_type):
            return name == acl.name
        # MATCH: every pattern that applies to the resource called ``name``
        if acl.pattern_type == PatternType.PREFIXED:
            return name.startswith(acl.name)
        return acl.name in (name, WILDCARD)
