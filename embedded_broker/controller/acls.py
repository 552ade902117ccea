"""CreateAcls and DeleteAcls on the controller: the ACLs are records of the metadata log
(AclRecord / RemoveAclRecord), which every broker's authorizer follows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from embedded_broker.handlers.acl_wire import create_response, delete_response
from embedded_broker.metadata.records import AclRecord, MetadataRecord, RemoveAclRecord
from embedded_broker.security.acl import AclBinding, AclFilter
from embedded_broker.security.acl_records import image_bindings

from .quorum import Controller


def _fields(acl: AclBinding) -> tuple[int, str, int, str, str, int, int]:
    return (
        int(acl.resource_type),
        acl.name,
        int(acl.pattern_type),
        acl.principal,
        acl.host,
        int(acl.operation),
        int(acl.permission),
    )


class LogAcls:
    """The controller's ACLs: read from its image, changed by appending records."""

    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def bindings(self, flt: AclFilter | None = None) -> list[AclBinding]:
        every = image_bindings(self._controller.image.acls)
        return [acl for acl in every if flt is None or flt.matches(acl)]

    async def apply(self, add: Sequence[AclBinding], remove: Sequence[AclBinding]) -> str | None:
        def records() -> list[MetadataRecord]:
            current = self._controller.image.acls
            out: list[MetadataRecord] = []
            for acl in add:
                if AclRecord(*_fields(acl)) not in current:
                    out.append(AclRecord(*_fields(acl)))
            for acl in remove:
                if AclRecord(*_fields(acl)) in current:
                    out.append(RemoveAclRecord(*_fields(acl)))
            return out

        await self._controller.append(records)
        return None


async def create_acls(controller: Controller, request: Any) -> Any:
    return await create_response(request, LogAcls(controller), None)


async def delete_acls(controller: Controller, request: Any) -> Any:
    return await delete_response(request, LogAcls(controller), None)
