"""AlterUserScramCredentials on the controller: SCRAM users are records of the metadata log
(UserScramCredentialRecord / RemoveUserScramCredentialRecord); every broker's store follows."""

from __future__ import annotations

from typing import Any

from embedded_broker.handlers.scram_wire import alter_response
from embedded_broker.metadata.records import MetadataRecord
from embedded_broker.security.credentials import ScramCredentialStore
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
