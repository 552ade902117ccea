"""Producer ids: reserved in blocks, so topics.json is not rewritten per id, never reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded_broker.registry import TopicRegistry


def test_ids_are_reserved_in_blocks_and_never_reused_after_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real_save = TopicRegistry.save

    def counting_save(self: TopicRegistry) -> None:
        writes.append(self.next_producer_id)
        real_save(self)

    monkeypatch.setattr(TopicRegistry, "save", counting_save)
    registry = TopicRegistry(tmp_path)
    handed_out = [registry.allocate_producer_id() for _ in range(2_500)]
    assert handed_out == sorted(set(handed_out))
    assert len(writes) <= 3, "the file is written once per block of ids, not once per id"

    registry.add("t", 1, {}, internal=False)  # any other save keeps the reservation
    # the process dies here: whatever is on disk must be past every id handed out
    reopened = TopicRegistry(tmp_path)
    after_crash = [reopened.allocate_producer_id() for _ in range(10)]
    assert min(after_crash) > max(handed_out)
