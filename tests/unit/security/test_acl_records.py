"""ACLs as metadata records: encoded, replayed into the image, read back as bindings."""

from __future__ import annotations

from embedded_broker.metadata.image import MetadataImage
from embedded_broker.metadata.records import (
    AclRecord,
    RemoveAclRecord,
    decode_record,
    encode_record,
)
from embedded_broker.security.acl import Operation, PatternType, Permission, ResourceType
from embedded_broker.security.acl_records import image_bindings

RECORD = AclRecord(2, "orders-", 4, "User:bob", "*", 3, 3)


def test_acl_records_round_trip_and_replay() -> None:
    image = MetadataImage()
    group = ("User:bob", "*", 8, 2)
    records = [RECORD, AclRecord(3, "g", 3, *group), RemoveAclRecord(3, "g", 3, *group)]
    for offset, record in enumerate(records):
        image.replay(offset, decode_record(encode_record(record)))
    [acl] = image_bindings(image.acls)
    assert (acl.resource_type, acl.name, acl.pattern_type) == (
        ResourceType.TOPIC,
        "orders-",
        PatternType.PREFIXED,
    )
    assert (acl.operation, acl.permission) == (Operation.READ, Permission.ALLOW)
