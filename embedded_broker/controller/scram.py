"""AlterUserScramCredentials on the controller: SCRAM users are records of the metadata log
(UserScramCredentialRecord / RemoveUserScramCredentialRecord); every broker's store follows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from embedded_broker.handlers.scram_wire import alter_response
from embedded_broker.metadata.records import MetadataRecord
from embedded_broker.security.credentials import ScramCredentialStore
from embedded_broker.security.scram import make_credential
from embedded_broker.security.scram_records import changes, image_users

from .quorum import Controller


async def alter_user_scram_credentials(controller: Controller, request: Any) -> Any:
    answers: list[Any] = []

    def records() -> list[MetadataRecord]:
        # under the write lock: the same checks as a single node, on the image's users
        before = image_users(controller.image.scram.values())
        store = ScramCredentialStore(None)
        store.replace_all(before)
        response, _changed = alter_response(request, store)
        answers.append(response)
        return changes(before, store.users())

    await controller.append(records)
    return answers[-1]


async def add_users_at_start(
    controller: Controller, users: Sequence[tuple[str, str, str, int]]
) -> None:
    """--add-scram at cluster start: add or replace these (mechanism, name, password,
    iterations) users in the metadata log, as records of salt and keys only."""
    if not users:
        return

    def salted() -> list[tuple[str, str, Any]]:
        return [(name, mech, make_credential(mech, pw, it)) for mech, name, pw, it in users]

    credentials = await asyncio.to_thread(salted)  # PBKDF2: kept off the event loop

    def records() -> list[MetadataRecord]:
        before = image_users(controller.image.scram.values())
        after = {user: dict(mechanisms) for user, mechanisms in before.items()}
        for name, mechanism, credential in credentials:
            after.setdefault(name, {})[mechanism] = credential
        return changes(before, after)

    await controller.append(records)
