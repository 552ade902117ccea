"""ISR recovery after a broker's kill -9 and restart on the built-in 3-broker cluster: how many
AlterPartition requests and controller appends (each one fsync) the rejoining follower costs,
and how long until every ISR is full again.

    python -m bench.isr_recovery [--partitions 100] [--code DIR] [--victim 101]

The cluster's nodes run the broker code in ``--code`` (default: this checkout), so the same
script measures an older version extracted with ``git archive``. A ``sitecustomize`` put first
on the nodes' path counts, in the controller, each AlterPartition request (and its partitions)
and each metadata append made while answering one; it changes nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic

from bench.cluster import wait_until
from bench.support import emit

SETTINGS = {
    "broker.session.timeout.ms": "2000",
    "broker.heartbeat.interval.ms": "300",
    "auto.leader.rebalance.enable": "false",
}
TOPIC = "isr-recovery"
READY_TIMEOUT_S = 180.0
RECOVERY_TIMEOUT_S = 300.0
POLL_S = 0.25

COUNTER = """
import contextvars, os, time
_path = os.environ.get("ISR_COUNT_FILE")
if _path:
    from embedded_broker.controller import lifecycle as _lc, quorum as _q
    _inside = contextvars.ContextVar("inside_alter", default=False)

    def _note(line):
        with open(_path, "a") as f:
            f.write(line + "\\n")

    _alter = _lc.alter_partition

    async def alter_partition(controller, request):
        _note("request %d %f" % (sum(len(t.partitions) for t in request.topics), time.time()))
        token = _inside.set(True)
        try:
            response = await _alter(controller, request)
        finally:
            _inside.reset(token)
        refused = sum(p.error_code != 0 for t in response.topics for p in t.partitions)
        if refused:
            _note("refused %d %f" % (refused, time.time()))
        return response

    _lc.alter_partition = alter_partition
    _append = _q.Controller.append

    async def append(self, build):
        written = []

        def counted():
            records = build()
            written.append(len(records))
            for r in records:
                if type(r).__name__ == "UnfenceBroker":
                    _note("unfence %d %f" % (r.broker_id, time.time()))
            return records

        end = await _append(self, counted)
        if written and written[0] and _inside.get():
            _note("append %d %f" % (written[0], time.time()))
        return end

    _q.Controller.append = append
"""


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})


def _cluster(data_dir: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((data_dir / "cluster.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def _isrs(address: str) -> dict[tuple[str, int], int] | None:
    """ISR size of every partition (__consumer_offsets' too) as one broker sees it (None if it
    does not answer)."""
    try:
        md = _admin(address).list_topics(timeout=5)
    except Exception:  # restarting
        return None
    out: dict[tuple[str, int], int] = {}
    for name, topic in md.topics.items():
        if topic.error is not None:
            return None
        out.update({(name, p.id): len(p.isrs) for p in topic.partitions.values()})
    return out


def _all_full(data_dir: Path, partitions: int) -> int:
    """How many partitions there are, once every broker, asked on its own, lists all of them
    with an ISR of 3 (0 before)."""
    counts = set()
    for b in _cluster(data_dir).get("brokers", []):
        seen = _isrs(f"{b['host']}:{b['port']}")
        if seen is None or sum(t == TOPIC for t, _ in seen) != partitions:
            return 0
        if set(seen.values()) != {3}:
            return 0
        counts.add(len(seen))
    return counts.pop() if len(counts) == 1 else 0


def _counts(path: Path, since: float) -> dict[str, Any]:
    """The controller's AlterPartition work since ``since``: requests, the partitions they
    carried, the partitions it refused, the appends they made, when the first request and the
    last append came, and when it last unfenced a broker."""
    requests = partitions = appends = refused = 0
    first_request = last_append = unfenced = None
    if path.exists():
        for line in path.read_text().splitlines():
            kind, n, at = line.split()
            if float(at) < since:
                continue
            if kind == "request":
                requests += 1
                partitions += int(n)
                first_request = float(at) if first_request is None else first_request
            elif kind == "refused":
                refused += int(n)
            elif kind == "unfence":
                unfenced = float(at)
            else:
                appends += 1
                last_append = float(at)
    return {
        "alter_requests": requests,
        "alter_partitions": partitions,
        "alter_refused_partitions": refused,
        "alter_appends": appends,
        "first_request_s": None if first_request is None else round(first_request - since, 2),
        "last_append_s": None if last_append is None else round(last_append - since, 2),
        "unfenced_s": None if unfenced is None else round(unfenced - since, 2),
    }


def run(code: Path, partitions: int, victim: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="topicscope-isr-recovery-") as tmp:
        work = Path(tmp)
        hook = work / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(COUNTER)
        counts = work / "counts.txt"
        data_dir = work / "cluster"
        env = dict(os.environ)
        env["PYTHONPATH"] = f"{hook}{os.pathsep}{code}"
        env["ISR_COUNT_FILE"] = str(counts)
        log = (work / "nodes.log").open("wb")
        cmd = [sys.executable, "-m", "embedded_broker", "--brokers", "3", "--data-dir"]
        cmd += [str(data_dir), "--port", "0", "--log-level", "WARNING"]
        for key, value in SETTINGS.items():
            cmd += ["--config", f"{key}={value}"]
        procs = [subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stderr=log)]
        try:
            wait_until(
                lambda: (
                    len(_cluster(data_dir).get("brokers", [])) == 3
                    and all(b.get("state") == "active" for b in _cluster(data_dir)["brokers"])
                ),
                READY_TIMEOUT_S,
                "ready cluster",
                poll_s=POLL_S,
            )
            bootstrap = ",".join(f"{b['host']}:{b['port']}" for b in _cluster(data_dir)["brokers"])
            new = NewTopic(TOPIC, num_partitions=partitions, replication_factor=3)
            admin = _admin(bootstrap)  # kept alive until the answer is in
            admin.create_topics([new])[TOPIC].result(60)
            total = wait_until(
                lambda: _all_full(data_dir, partitions),
                READY_TIMEOUT_S,
                "full ISRs at start",
                poll_s=POLL_S,
            )

            pid = next(b["pid"] for b in _cluster(data_dir)["brokers"] if b["id"] == victim)
            os.kill(int(pid), signal.SIGKILL)
            killed = time.time()
            # fenced: it left every ISR
            wait_until(
                lambda: (s := _isrs(bootstrap)) is not None and set(s.values()) == {2},
                READY_TIMEOUT_S,
                f"broker {victim} out of every ISR",
                poll_s=POLL_S,
            )
            restarted = time.time()
            args = ["--data-dir", str(data_dir), "--node", str(victim), "--log-level", "WARNING"]
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "embedded_broker", *args],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stderr=log,
                )
            )
            wait_until(
                lambda: _all_full(data_dir, partitions),
                RECOVERY_TIMEOUT_S,
                "full ISRs again",
                poll_s=POLL_S,
            )
            full = time.time()
            counted = _counts(counts, restarted)
            unfenced = counted["unfenced_s"]
            result = {
                "partitions": total,  # every RF-3 partition, __consumer_offsets' included
                "fenced_s": round(restarted - killed, 2),
                "restart_to_full_isr_s": round(full - restarted, 2),
                **counted,
                # from the controller unfencing the restarted broker to every ISR full again
                "unfence_to_full_isr_s": None
                if unfenced is None
                else round(full - restarted - unfenced, 2),
                "load": round(os.getloadavg()[0], 1),
            }
            log.flush()
            text = (work / "nodes.log").read_text(errors="replace")
            result["fencings"] = text.count("sent no heartbeat")
            return result
        finally:
            for proc in reversed(procs):
                proc.send_signal(signal.SIGTERM)
            for proc in reversed(procs):
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # with __consumer_offsets' 50: about 150 RF-3 partitions in all
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--victim", type=int, default=101)
    args = parser.parse_args()
    emit({"summary": run(args.code.resolve(), args.partitions, args.victim)})


if __name__ == "__main__":
    main()
