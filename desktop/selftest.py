"""`topicscope --self-test`: broker, window, connect, create, produce, read back; report."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer

from desktop.domain.profile import Credentials
from desktop.services.messages import produce_one, read_one


class StepFailedError(Exception):
    pass


def _wait(
    start: Callable[[Callable[[Any], None], Callable[[str], None]], object], timeout: float
) -> Any:
    """Run `start(ok, fail)` and spin an event loop until one of them is called."""
    loop = QEventLoop()
    outcome: dict[str, Any] = {}

    def ok(value: Any) -> None:
        outcome.setdefault("ok", value)
        loop.quit()

    def fail(message: str) -> None:
        outcome.setdefault("err", message)
        loop.quit()

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: fail(f"no answer within {timeout:.0f} s"))
    timer.start(int(timeout * 1000))
    start(ok, fail)
    if not outcome:
        loop.exec()
    timer.stop()
    if "err" in outcome:
        raise StepFailedError(str(outcome["err"]))
    return outcome.get("ok")


def run_self_test() -> int:
    from desktop.app import create_application
    from desktop.context import AppContext
    from desktop.views.main_window import MainWindow

    report: list[str] = []
    step = "start application"
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="topicscope-selftest-") as tmp:
        window: MainWindow | None = None
        try:
            app = create_application()
            ctx = AppContext.create(config_dir=Path(tmp) / "config", data_dir=Path(tmp) / "data")
            step = "open main window"
            window = MainWindow(ctx)
            window.show()
            app.processEvents()
            report.append(f"window: shown ({app.platformName()})")

            step = "start built-in broker"

            def start_broker(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
                ctx.local.started.connect(ok)
                ctx.local.failed.connect(fail)
                ctx.local.start()

            info = _wait(start_broker, 30)
            report.append(f"broker: {info.bootstrap} (data in {info.data_dir})")

            step = "connect"
            view = window.find_view("Local broker")
            if view is None:
                raise StepFailedError("the local cluster tab did not open")
            session = view.session
            if session.snapshot is None:

                def connected(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
                    session.snapshot_changed.connect(ok)
                    session.error.connect(fail)

                _wait(connected, 30)
            snap = session.snapshot
            assert snap is not None
            report.append(
                f"connect: cluster {snap.cluster_id or '?'}, {len(snap.brokers)} broker(s)"
            )

            step = "create topic"
            topic = f"selftest-{uuid.uuid4().hex[:8]}"
            _wait(
                lambda ok, fail: session.create_topic(topic, 1, 1, {}, on_done=ok, on_error=fail),
                30,
            )
            report.append(f"create topic: {topic}")

            step = "produce"
            payload = f"hello from topicscope {uuid.uuid4().hex}".encode()
            profile = session.profile
            offset = _wait(
                lambda ok, fail: session.run(
                    "produce",
                    lambda _a: produce_one(profile, Credentials(), topic, key=b"k", value=payload),
                    ok,
                    fail,
                ),
                30,
            )
            report.append(f"produce: offset {offset}")

            step = "read back"
            key, value = _wait(
                lambda ok, fail: session.run(
                    "read",
                    lambda _a: read_one(
                        profile, Credentials(), topic, partition=0, offset=int(offset)
                    ),
                    ok,
                    fail,
                ),
                30,
            )
            if value != payload or key != b"k":
                raise StepFailedError(f"read back {key!r}:{value!r}, expected b'k':{payload!r}")
            report.append("read back: message matches")
        except BaseException as exc:
            print("Topicscope self-test FAILED")
            for line in report:
                print(f"  ok  {line}")
            print(f"  FAILED at step '{step}': {exc}")
            _close(window)
            return 1
        _close(window)
    print("Topicscope self-test passed")
    for line in report:
        print(f"  ok  {line}")
    print(f"  total {time.monotonic() - t0:.1f} s")
    return 0


def _close(window: Any) -> None:
    if window is not None:
        window.shutdown()
        window.close()
