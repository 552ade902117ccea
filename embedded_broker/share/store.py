"""The durable share-group state: one JSON file per share group, replaced atomically.

Kafka keeps share-partition state in the __share_group_state topic through its share
coordinator. A single node needs only durability, so each group's state (for every partition:
its start offset and the runs of in-flight records with their states and delivery counts) is
written whole to ``<data dir>/share-state/<group>.json`` (temp file, fsync, rename, fsync of the
directory) on a worker thread, and a write that several changes asked for meanwhile is shared.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path

from embedded_broker.storage.index import write_atomically

log = logging.getLogger(__name__)

STATE_DIR = "share-state"


def _file_name(group_id: str) -> str:
    # group ids may hold any character; the file name must not
    return base64.urlsafe_b64encode(group_id.encode()).decode().rstrip("=") + ".json"


def load_all(data_dir: Path) -> dict[str, dict[str, object]]:
    """Every group's saved state by group id (blocking: run it on a worker thread). A file
    that cannot be read is named in the log and skipped, so its group starts afresh."""
    folder = data_dir / STATE_DIR
    found: dict[str, dict[str, object]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            group_id = data["group_id"]
            if not isinstance(group_id, str) or not isinstance(data["partitions"], list):
                raise ValueError("unexpected layout")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error(
                "Share-group state file %s is damaged (%s); that group's share-partitions start "
                "again from share.auto.offset.reset. Restore the file from a backup to keep "
                "its state.",
                path,
                exc,
            )
            continue
        found[group_id] = data
    return found


class ShareStore:
    """Writes groups' state files, several changes sharing one write."""

    def __init__(self, data_dir: Path | None, snapshot: Callable[[str], bytes | None]) -> None:
        self._folder = data_dir / STATE_DIR if data_dir is not None else None
        self._snapshot = snapshot  # group id -> the file's bytes, None to delete the file
        self._dirty: set[str] = set()
        self._asked = 0
        self._done = 0
        self._failed_upto = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def persist(self, group_id: str) -> bool:
        """Write the group's current state; True once it is on disk."""
        if self._folder is None:
            return True
        self._dirty.add(group_id)
        self._asked += 1
        ticket = self._asked
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush())
        async with self._changed:
            await self._changed.wait_for(lambda: self._done >= ticket)
        return self._failed_upto < ticket

    async def _flush(self) -> None:
        folder = self._folder
        assert folder is not None
        while self._done < self._asked:
            upto = self._asked
            groups, self._dirty = self._dirty, set()
            files = {_file_name(g): self._snapshot(g) for g in groups}
            try:
                await asyncio.to_thread(_write, folder, files)
            except Exception as exc:  # a full disk, say; waiters must hear of it either way
                log.error(
                    "Could not save share-group state in %s (%s); acknowledgements are "
                    "answered with an error until it can be. Free disk space or fix the "
                    "directory's permissions.",
                    folder,
                    exc,
                )
                self._failed_upto = upto
            async with self._changed:
                self._done = upto
                self._changed.notify_all()


def _write(folder: Path, files: dict[str, bytes | None]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = folder / name
        if data is None:
            path.unlink(missing_ok=True)
        else:
            write_atomically(path, data)


def encode(
    group_id: str, partitions: list[dict[str, object]], *, configs: dict[str, str], exists: bool
) -> bytes:
    data = {"group_id": group_id, "partitions": partitions, "configs": configs, "exists": exists}
    return json.dumps(data).encode("utf-8")
