"""Scans as stream jobs: rows and progress come back to the GUI thread in batches."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from desktop.domain.messages import Row, ScanBatch, ScanProgress, ScanSpec
from desktop.models.messages import as_records
from desktop.services.browse import Scanner
from desktop.services.export import CsvWriter, Encoding, JsonLinesWriter
from desktop.workers.jobs import Job, JobContext, Lane
from desktop.workers.session import ClusterSession

Sink = Callable[[list[Row]], None]


class GuiFirst:
    """Lets the GUI thread pause scans while it paints or takes rows in.

    Each Python call the GUI makes during a paint (a table paint makes ~700 data() calls) must
    take the GIL from a busy scan thread; holding this gate makes scans wait at their next
    message instead, so the paint runs uncontended."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.go.set()
        self._depth = 0

    def __enter__(self) -> None:
        self._depth += 1
        self.go.clear()

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.go.set()


GUI_FIRST = GuiFirst()


def _scan(
    ctx: JobContext, session: ClusterSession, spec: ScanSpec, sink: Sink | None
) -> ScanProgress:
    def batch(rows: list[Row], progress: ScanProgress) -> None:
        if sink is not None:
            if rows:
                sink(rows)
            rows = []
        if rows or not progress.finished:  # the last progress is the job's result
            ctx.report(ScanBatch(rows, progress))

    scanner = Scanner(session.profile, session.creds, spec, ctx.token.event, GUI_FIRST.go)
    return scanner.run(batch)


def scan_job(session: ClusterSession, spec: ScanSpec) -> Job:
    """A scan (not yet submitted): progress carries ScanBatch, finished the last ScanProgress."""
    # a scan runs until its end, its limit or Cancel: a tail has no natural deadline
    return Job(
        f"scan of {spec.topic}",
        lambda ctx: _scan(ctx, session, spec, None),
        lane=Lane.STREAM,
        deadline_s=None,
    )


def export_scan_job(
    session: ClusterSession, spec: ScanSpec, path: Path, fmt: str, encoding: Encoding
) -> Job:
    """The same scan again, written straight to `path` on the scan's thread (the rows are never
    held); progress carries ScanBatch without rows, finished the count written."""

    def work(ctx: JobContext) -> int:
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = CsvWriter(f, encoding) if fmt == "csv" else JsonLinesWriter(f, encoding)
            _scan(ctx, session, spec, lambda rows: writer.write(as_records(rows)))
        return writer.count

    return Job(f"export of {spec.topic}", work, lane=Lane.STREAM, deadline_s=None)
