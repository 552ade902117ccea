"""SCRAM users as metadata records: the diff the controller appends, and the image replay."""

from __future__ import annotations

from embedded_broker.metadata.image import MetadataImage
from embedded_broker.metadata.records import (
    RemoveUserScramCredentialRecord,
    UserScramCredentialRecord,
    decode_record,
    encode_record,
)
from embedded_broker.security.scram import make_credential
from embedded_broker.security.scram_records import changes, image_users


def test_changes_replayed_give_the_same_users() -> None:
    alice = make_credential("SCRAM-SHA-512", "a", 4096)
    bob = make_credential("SCRAM-SHA-256", "b", 8192)
    before = {"alice": {"SCRAM-SHA-512": alice}, "bob": {"SCRAM-SHA-256": bob}}
    image = MetadataImage()
    for offset, record in enumerate(changes({}, before)):
        image.replay(offset, decode_record(encode_record(record)))  # as the log keeps them
    assert image_users(image.scram.values()) == before

    after = {"alice": {"SCRAM-SHA-512": make_credential("SCRAM-SHA-512", "new", 4096)}}
    diff = changes(before, after)
    assert [type(r) for r in diff] == [RemoveUserScramCredentialRecord, UserScramCredentialRecord]
    for offset, record in enumerate(diff, start=10):
        image.replay(offset, record)
    assert image_users(image.scram.values()) == after
    assert changes(after, after) == []
