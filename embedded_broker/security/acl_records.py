"""ACL bindings from the cluster's metadata records (AclRecord), for the controller and brokers."""

from __future__ import annotations

from collections.abc import Iterable

from embedded_broker.metadata.records import AclRecord

from .acl import AclBinding, binding


def to_binding(record: AclRecord) -> AclBinding:
    return binding(
        record.resource_type,
        record.resource_name,
        record.pattern_type,
        principal=record.principal,
        host=record.host,
        operation=record.operation,
        permission=record.permission,
    )


def image_bindings(records: Iterable[AclRecord]) -> list[AclBinding]:
    return sorted(to_binding(r) for r in records)
