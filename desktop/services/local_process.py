"""The built-in broker and cluster as child processes: spawn, wait until they answer, signal, stop.

The GUI never shares its interpreter with a broker: every node is `topicscope-broker` in a
process of its own (the bundle's own executable with --broker when frozen). No Qt here."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from desktop.domain.cluster import BrokerInfo
from desktop.domain.local import LocalNode
from desktop.services.cancel import CancelToken
from desktop.services.liveness import probe
from embedded_broker import ports

# the frozen bundle runs topicscope-broker when this flag comes first (desktop.__main__)
BROKER_FLAG = "--broker"
# a node started with this variable stops when the process of that pid (the app) is gone
PARENT_ENV = "TOPICSCOPE_CLUSTER_PARENT"
CLUSTER_FILE = "cluster.json"
POLL_S = 0.1


class LocalProcessError(RuntimeError):
    """A child broker could not be started or stopped; the message says why."""


def broker_command(args: list[str]) -> list[str]:
    """topicscope-broker with `args`: this interpreter's module, or the frozen executable."""
    if getattr(sys, "frozen", False):
        return [sys.executable, BROKER_FLAG, *args]
    return [sys.executable, "-m", "embedded_broker", *args]


def free_port_run(host: str, count: int) -> int:
    """The first of `count` consecutive free ports (the cluster listens on P, P+1, …), below
    the ephemeral range, so a node restarted on its port finds it free."""
    try:
        return ports.free_port_run(host, count)
    except ports.NoFreePortsError as exc:
        raise LocalProcessError(str(exc)) from None


def choose_port(host: str, requested: int | None, count: int, preferred: int) -> int:
    """The first of the ports a local broker or cluster listens on: the one asked for; else
    `preferred` (Kafka's usual 9092, so course examples work as typed) when it and the next
    `count - 1` are free; else (and for 0) any free run of `count`."""
    if requested:
        return requested
    if requested is None and ports.ports_free(host, preferred, count):
        return preferred
    return free_port_run(host, count)


def pid_alive(pid: int | None) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def send_signal(pid: int | None, sig: int) -> bool:
    """Signal a process; False when it is already gone."""
    if not pid:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int | None, token: CancelToken | None, timeout_s: float) -> bool:
    """Wait until `pid` has ended (or become a zombie); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        if token is not None:
            token.check()
        time.sleep(POLL_S)
    return True


class ChildProcess:
    """One child broker process; its output goes to a temporary file, read when it fails."""

    def __init__(
        self,
        args: list[str],
        parent_pid: int | None = None,
        secret_env: dict[str, str] | None = None,
    ) -> None:
        self.args = args
        # kept open for the child's lifetime (closed in terminate): its output, read on failure
        self._log: IO[bytes] = tempfile.TemporaryFile(prefix="topicscope-broker-")  # noqa: SIM115
        env = dict(os.environ)
        env[PARENT_ENV] = str(parent_pid or os.getpid())
        # secrets go in the environment, which only this user can read, never in args (ps)
        env.update(secret_env or {})
        self.popen: subprocess.Popen[bytes] = subprocess.Popen(
            broker_command(args),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the app's terminal is the app's, not the broker's
        )

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 4) -> str:
        """The last lines the child printed: why it exited."""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        wanted = [line for line in text.splitlines() if line.strip()][-lines:]
        return "\n".join(wanted)

    def exit_reason(self) -> str:
        tail = self.tail()
        code = self.popen.returncode
        return tail or f"it exited with status {code}"

    def terminate(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL when it has not ended within `timeout_s`; reaps it."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()

    def kill(self) -> None:
        """kill -9, then reap."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
            self.popen.wait()
        self._log.close()

    def reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(0)


def wait_answering(
    child: ChildProcess,
    brokers: list[BrokerInfo],
    token: CancelToken,
    timeout_s: float,
    speak: bool = True,
) -> None:
    """Until every broker answers ApiVersions (only accepts connections, without `speak`: the
    cluster's controller serves no ApiVersions); LocalProcessError when the child exits first."""
    deadline = time.monotonic() + timeout_s
    waiting = list(brokers)
    while waiting:
        token.check()
        if not child.alive:
            raise LocalProcessError(child.exit_reason())
        waiting = [b for b in waiting if not probe(b, 0.5, speak).ok]
        if not waiting:
            return
        if time.monotonic() > deadline:
            names = ", ".join(b.address for b in waiting)
            raise LocalProcessError(f"{names} did not answer within {timeout_s:g} s")
        time.sleep(POLL_S)


def read_cluster_file(cluster_dir: Path) -> dict[str, Any] | None:
    """DIR/cluster.json, or None while it does not exist or is being replaced."""
    try:
        data = json.loads((cluster_dir / CLUSTER_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def nodes_of(data: dict[str, Any]) -> tuple[LocalNode, ...]:
    """The controller and brokers listed in cluster.json, with whether each pid is alive."""
    out = []
    for raw in [data.get("controller", {}), *data.get("brokers", [])]:
        if not raw:
            continue
        pid = raw.get("pid")
        out.append(
            LocalNode(
                id=int(raw["id"]),
                host=str(raw.get("host", "127.0.0.1")),
                port=int(raw["port"]),
                pid=int(pid) if pid else None,
                state=str(raw.get("state", "stopped")),
                alive=pid_alive(int(pid)) if pid else False,
            )
        )
    return tuple(out)


def cluster_size(cluster_dir: Path) -> int | None:
    data = read_cluster_file(cluster_dir)
    return len(data.get("brokers", [])) if data else None
