"""SCRAM credentials as records of the cluster's metadata log (UserScramCredentialRecord), for
the controller that writes them and the brokers whose stores follow them."""

from __future__ import annotations

import base64
from collections.abc import Iterable

from embedded_broker.metadata.records import (
    MetadataRecord,
    RemoveUserScramCredentialRecord,
    UserScramCredentialRecord,
)

from .scram import MECHANISM_CODES, MECHANISM_NAMES, ScramCredential

Users = dict[str, dict[str, ScramCredential]]  # user -> mechanism name -> credential


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def to_record(user: str, mechanism: str, credential: ScramCredential) -> UserScramCredentialRecord:
    return UserScramCredentialRecord(
        name=user,
        mechanism=MECHANISM_CODES[mechanism],
        salt=_b64(credential.salt),
        stored_key=_b64(credential.stored_key),
        server_key=_b64(credential.server_key),
        iterations=credential.iterations,
    )


def image_users(records: Iterable[UserScramCredentialRecord]) -> Users:
    """The users the image holds, as a credential store keeps them."""
    users: Users = {}
    for r in records:
        mechanism = MECHANISM_NAMES.get(r.mechanism)
        if mechanism is None:
            continue  # a mechanism this version does not know: not usable here
        users.setdefault(r.name, {})[mechanism] = ScramCredential(
            salt=base64.b64decode(r.salt),
            stored_key=base64.b64decode(r.stored_key),
            server_key=base64.b64decode(r.server_key),
            iterations=r.iterations,
        )
    return users


def changes(before: Users, after: Users) -> list[MetadataRecord]:
    """The records that turn `before` into `after`."""
    out: list[MetadataRecord] = []
    for user, mechanisms in sorted(before.items()):
        for mechanism in sorted(mechanisms):
            if mechanism not in after.get(user, {}):
                out.append(RemoveUserScramCredentialRecord(user, MECHANISM_CODES[mechanism]))
    for user, mechanisms in sorted(after.items()):
        for mechanism, credential in sorted(mechanisms.items()):
            if before.get(user, {}).get(mechanism) != credential:
                out.append(to_record(user, mechanism, credential))
    return out
