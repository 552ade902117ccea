"""Kafka's StandardAuthorizer semantics: super users, ACL bindings (deny wins), the no-ACL rule."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable
from pathlib import Path

from embedded_broker.config import BrokerConfig, ConfigError
from embedded_broker.damaged import DamagedFileError
from embedded_broker.storage.index import write_atomically

from .acl import (
    WILDCARD,
    AclBinding,
    AclFilter,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    binding,
)

AUTHORIZER_KEY = "authorizer"  # BrokerState.extensions key of the broker's Authorizer
FILE_NAME = "acls.json"
FORMAT_VERSION = 1
# The class names Kafka configures an ACL authorizer with; both get the same semantics here.
KNOWN_CLASSES = frozenset(
    {
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "kafka.security.authorizer.AclAuthorizer",
    }
)


def super_users(text: str | None) -> frozenset[str]:
    """``super.users``: principals separated by semicolons, e.g. 'User:admin;User:ops'."""
    return frozenset(p.strip() for p in (text or "").split(";") if p.strip())


class Authorizer:
    """The ACLs of this broker, kept in ``<data_dir>/acls.json`` (written off the event loop)."""

    def __init__(
        self,
        data_dir: Path | None,
        *,
        supers: frozenset[str] = frozenset(),
        allow_if_no_acl: bool = False,
    ) -> None:
        self.path = None if data_dir is None else data_dir / FILE_NAME
        self.supers = supers
        self.allow_if_no_acl = allow_if_no_acl
        self._acls: dict[ResourceType, set[AclBinding]] = {}
        self._write_lock = threading.Lock()
        self._generation = 0
        self._written = 0
        if self.path is not None and self.path.exists():
            self._load(self.path)

    @classmethod
    def from_config(cls, config: BrokerConfig, data_dir: Path | None) -> Authorizer | None:
        """None when ``authorizer.class.name`` is empty (no authorization, as in Kafka)."""
        name = (config.get_str("authorizer.class.name") or "").strip()
        if not name:
            return None
        if name not in KNOWN_CLASSES:
            raise ConfigError(
                f"authorizer.class.name {name!r} is not available in this broker; use "
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer (or leave it empty "
                "for no authorization)"
            )
        return cls(
            data_dir,
            supers=super_users(config.get_str("super.users")),
            allow_if_no_acl=config.get_bool("allow.everyone.if.no.acl.found"),
        )

    # -- decisions ----------------------------------------------------------------------------
    def authorize(
        self,
        principal: str,
        host: str,
        operation: Operation,
        resource_type: ResourceType,
        name: str,
    ) -> bool:
        """Whether ``principal`` connecting from ``host`` may do ``operation`` on the resource."""
        if principal in self.supers:
            return True
        any_acl = False
        allowed = False
        for acl in self._acls.get(resource_type, ()):
            if not acl.covers(resource_type, name):
                continue
            any_acl = True
            if acl.principal not in (principal, "User:*") or acl.host not in (host, WILDCARD):
                continue
            if not acl.grants(operation):
                continue
            if acl.permission == Permission.DENY:
                return False  # deny wins over every allow
            allowed = True
        return allowed or (not any_acl and self.allow_if_no_acl)

    def authorize_any(
        self, principal: str, host: str, operation: Operation, resource_type: ResourceType
    ) -> bool:
        """Whether some resource of the type may get ``operation`` (Kafka's
        authorizeByResourceType: an ALLOW on a pattern that no DENY of the principal covers)."""
        if principal in self.supers:
            return True
        mine = [
            acl
            for acl in self._acls.get(resource_type, ())
            if acl.principal in (principal, "User:*")
            and acl.host in (host, WILDCARD)
            and acl.operation in (operation, Operation.ALL)
        ]
        denies = [a for a in mine if a.permission == Permission.DENY]
        for allow in (a for a in mine if a.permission == Permission.ALLOW):
            if not any(_pattern_within(allow, deny) for deny in denies):
                return True
        return self.allow_if_no_acl and not self._acls.get(resource_type)

    # -- bindings -----------------------------------------------------------------------------
    def bindings(self, flt: AclFilter | None = None) -> list[AclBinding]:
        every = (acl for acls in self._acls.values() for acl in acls)
        return sorted(acl for acl in every if flt is None or flt.matches(acl))

    def add(self, acls: Iterable[AclBinding]) -> None:
        for acl in acls:
            self._acls.setdefault(acl.resource_type, set()).add(acl)
        self._generation += 1

    def replace_all(self, acls: Iterable[AclBinding]) -> None:
        """Hold exactly ``acls`` (a cluster broker following the controller's metadata log)."""
        fresh: dict[ResourceType, set[AclBinding]] = {}
        for acl in acls:
            fresh.setdefault(acl.resource_type, set()).add(acl)
        if fresh != self._acls:
            self._acls = fresh
            self._generation += 1

    def remove(self, acls: Iterable[AclBinding]) -> None:
        for acl in acls:
            self._acls.get(acl.resource_type, set()).discard(acl)
        self._generation += 1

    # -- durability ---------------------------------------------------------------------------
    async def persist(self) -> None:
        """Write the current bindings to disk on a worker thread (OSError if that fails)."""
        generation, data = self._generation, self.snapshot()
        await asyncio.to_thread(self._write, data, generation)

    def snapshot(self) -> bytes:
        doc = {
            "version": FORMAT_VERSION,
            "acls": [
                {
                    "resource_type": acl.resource_type.name,
                    "name": acl.name,
                    "pattern_type": acl.pattern_type.name,
                    "principal": acl.principal,
                    "host": acl.host,
                    "operation": acl.operation.name,
                    "permission": acl.permission.name,
                }
                for acl in self.bindings()
            ],
        }
        return json.dumps(doc, indent=1).encode()

    def _write(self, data: bytes, generation: int) -> None:
        if self.path is None:
            return
        with self._write_lock:
            if generation <= self._written:
                return  # a newer snapshot is already on disk
            write_atomically(self.path, data)
            self._written = generation

    def _load(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            loaded = [
                binding(
                    ResourceType[e["resource_type"]],
                    str(e["name"]),
                    PatternType[e["pattern_type"]],
                    principal=str(e["principal"]),
                    host=str(e["host"]),
                    operation=Operation[e["operation"]],
                    permission=Permission[e["permission"]],
                )
                for e in doc["acls"]
            ]
            for acl in loaded:
                if (reason := acl.invalid_reason()) is not None:
                    raise ValueError(reason)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DamagedFileError(
                path,
                f"The ACL file {path} cannot be read ({exc}). Restore it from a backup, or "
                "delete it and create the ACLs again.",
            ) from None
        self.add(loaded)
        self._written = self._generation


def _pattern_within(allow: AclBinding, deny: AclBinding) -> bool:
    """Whether every resource ``allow`` names is also named by ``deny``."""
    if deny.pattern_type == PatternType.LITERAL:
        if deny.name == WILDCARD:
            return True
        return allow.pattern_type == PatternType.LITERAL and allow.name == deny.name
    if allow.pattern_type == PatternType.LITERAL and allow.name == WILDCARD:
        return False
    return allow.name.startswith(deny.name)
