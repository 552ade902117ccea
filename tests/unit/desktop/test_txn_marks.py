"""TxnMarks: which read_uncommitted records are aborted or past the last stable offset."""

from __future__ import annotations

from desktop.domain.messages import TxnMarks


def test_marks_by_partition_and_range() -> None:
    marks = TxnMarks(skipped=((0, 3, 6), (1, 0, 2)), pending=((0, 10),))
    assert [marks.mark(0, o) for o in (2, 3, 5, 6, 9, 10, 12)] == [
        "",
        "aborted txn",
        "aborted txn",
        "",
        "",
        "pending (open txn)",
        "pending (open txn)",
    ]
    assert marks.mark(1, 1) == "aborted txn"
    assert marks.mark(1, 10) == ""  # the LSO is per partition
    rows = [("t", 0, o, 0, 0, None, None, ()) for o in range(12)]
    assert marks.count(rows, "aborted txn") == 3
