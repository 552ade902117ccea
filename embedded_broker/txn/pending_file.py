"""The single node's pending transactional offsets kept on disk, so a broker killed between
TxnOffsetCommit and EndTxn still commits them with the transaction after its restart.

Kafka writes them to __consumer_offsets as transactional records that the transaction's marker
commits or aborts; a single node keeps its groups in a journal of its own, so these wait in one
small file, ``<data dir>/__txn_pending_offsets.json``, replaced atomically (temp file, fsync,
rename) on a worker thread; TxnOffsetCommit is answered once its offsets are written. At load
only the entries of transactions still open with the same producer id and epoch are taken back.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded_broker.coordinator.messages import OffsetCommitEntry
from embedded_broker.storage.index import write_atomically

log = logging.getLogger(__name__)

FILE_NAME = "__txn_pending_offsets.json"


@dataclass(slots=True)
class PendingTxn:
    """TxnOffsetCommit offsets of one open transaction, per group."""

    producer_id: int
    producer_epoch: int
    offsets: dict[str, dict[tuple[str, int], OffsetCommitEntry]] = field(default_factory=dict)


def _encode(pending: dict[str, PendingTxn]) -> bytes:
    doc = {
        tid: {
            "producer_id": p.producer_id,
            "producer_epoch": p.producer_epoch,
            "groups": {
                group: [
                    [e.topic, e.partition, e.offset, e.leader_epoch, e.metadata]
                    for e in entries.values()
                ]
                for group, entries in p.offsets.items()
            },
        }
        for tid, p in pending.items()
        if p.offsets
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _decode(data: bytes) -> dict[str, PendingTxn]:
    doc: dict[str, Any] = json.loads(data)
    out: dict[str, PendingTxn] = {}
    for tid, p in doc.items():
        txn = PendingTxn(int(p["producer_id"]), int(p["producer_epoch"]))
        for group, rows in p["groups"].items():
            txn.offsets[group] = {
                (str(t), int(i)): OffsetCommitEntry(str(t), int(i), int(o), int(le), md)
                for t, i, o, le, md in rows
            }
        out[tid] = txn
    return out


class PendingOffsetsFile:
    """Writes the coordinator's pending offsets whole; concurrent saves share one write."""

    def __init__(self, data_dir: Path | None) -> None:
        self.path = None if data_dir is None else Path(data_dir) / FILE_NAME
        self._lock = asyncio.Lock()
        self._written = 0  # generation on disk
        self._wanted = 0  # generation asked for

    def load(self) -> dict[str, PendingTxn]:
        """What the last run left (blocking: called on a worker thread at load)."""
        if self.path is None or not self.path.exists():
            return {}
        try:
            return _decode(self.path.read_bytes())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("Ignoring unreadable pending transactional offsets %s: %s", self.path, exc)
            return {}

    async def save(self, pending: dict[str, PendingTxn]) -> bool:
        """Write ``pending`` (as it is when the write starts); False if it could not be."""
        if self.path is None:
            return True
        self._wanted += 1
        wanted = self._wanted
        async with self._lock:
            if self._written >= wanted:
                return True  # a later save already wrote this state
            generation = self._wanted
            data = _encode(pending)
            try:
                await asyncio.to_thread(write_atomically, self.path, data)
            except OSError as exc:
                log.warning("Cannot write pending transactional offsets: %s", exc)
                return False
            self._written = generation
            return True
