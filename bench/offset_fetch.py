"""OffsetFetch on the built-in broker (issue 14): the requests a 5,000-group screen sends.

A broker of its own holds `--groups` groups (default 5,000), each with committed offsets on
3 topics x 6 partitions, as bench.groups_ui seeds them. Then:

- offset_fetch_per_s: OffsetFetch v9 requests, one group each and all its partitions (what
  librdkafka's ListConsumerGroupOffsets sends), pipelined on one connection with 100 in
  flight; pre-encoded, so the figure is the broker's rate. The best of `--rounds` passes.
- groups_5k_fetch_s: confluent-kafka's list_consumer_group_offsets for every group, in waves
  of 100 as the app's groups screen reads them. The best of `--rounds` passes.

Prints JSON lines, then one {"summary": {...}} line.

    python -m bench.offset_fetch [--groups N] [--rounds N]
"""

from __future__ import annotations

import argparse
import socket
import struct
import time

from bench.support import builtin_broker, emit

TOPICS = 3
PARTITIONS = 6
WINDOW = 100  # requests in flight, as the app's OFFSETS_WAVE
VERSION = 9  # what librdkafka 2.x sends for ListConsumerGroupOffsets
_I32 = struct.Struct(">i")


def group_id(g: int) -> str:
    return f"bench-group-{g:05d}"


def seed(bootstrap: str, groups: int) -> dict[str, float]:
    """The topics, then `groups` groups with offsets committed by the admin client."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"bench.groups.{i}" for i in range(TOPICS)]
    for f in admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names]).values():
        f.result(timeout=60)
    t0 = time.perf_counter()
    pending = []
    for g in range(groups):
        tps = [
            TopicPartition(n, p, (g * 7 + p * 13) % 200) for n in names for p in range(PARTITIONS)
        ]
        gid = group_id(g)
        pending.append(
            admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(gid, tps)])[gid]
        )
    for f in pending:
        f.result(timeout=120)
    return {"groups_commit_s": round(time.perf_counter() - t0, 3)}


def fetch_frames(groups: int) -> list[bytes]:
    from kio.schema.offset_fetch.v9.request import OffsetFetchRequest, OffsetFetchRequestGroup

    from embedded_broker.protocol.codec import RequestHeader, encode_request

    return [
        encode_request(
            RequestHeader(9, VERSION, g, "bench"),
            OffsetFetchRequest(
                groups=(
                    OffsetFetchRequestGroup(
                        group_id=group_id(g), member_id=None, member_epoch=-1, topics=None
                    ),
                ),
                require_stable=False,
            ),
        )
        for g in range(groups)
    ]


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def raw_pass(bootstrap: str, frames: list[bytes]) -> tuple[float, bytes]:
    """Seconds to get every frame answered, `WINDOW` in flight; and the last response."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sent = received = 0
        last = b""
        t0 = time.perf_counter()
        while received < len(frames):
            if sent < len(frames) and sent - received < WINDOW:
                batch = frames[sent : min(len(frames), received + WINDOW)]
                sock.sendall(b"".join(batch))
                sent += len(batch)
            (size,) = _I32.unpack(_read_exactly(sock, 4))
            last = _read_exactly(sock, size)
            received += 1
        return time.perf_counter() - t0, last


def check(response: bytes, groups: int) -> None:
    """The last response is the last group's offsets, every partition, no error."""
    from kio.schema.offset_fetch.v9.response import OffsetFetchResponse
    from kio.serial import entity_reader

    (correlation_id,) = _I32.unpack_from(response, 0)
    decoded, _ = entity_reader(OffsetFetchResponse)(response, 5)  # flexible header: 1 tag byte
    (group,) = decoded.groups
    parts = [p for t in group.topics for p in t.partitions]
    ok = (
        correlation_id == groups - 1
        and group.group_id == group_id(groups - 1)
        and group.error_code == 0
        and len(parts) == TOPICS * PARTITIONS
        and all(p.error_code == 0 and p.committed_offset >= 0 for p in parts)
    )
    if not ok:
        raise SystemExit(f"unexpected OffsetFetch response: {decoded}")


def client_pass(bootstrap: str, groups: int) -> float:
    """The app's read: one list_consumer_group_offsets per group, 100 at a time."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    ids = [group_id(g) for g in range(groups)]
    t0 = time.perf_counter()
    for i in range(0, groups, WINDOW):
        wave = [
            admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(gid)])[gid]
            for gid in ids[i : i + WINDOW]
        ]
        for fut in wave:
            res = fut.result(timeout=60)
            if len(res.topic_partitions) != TOPICS * PARTITIONS:
                raise SystemExit(f"{res.group_id}: {len(res.topic_partitions)} partitions")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    with builtin_broker({"group.initial.rebalance.delay.ms": "0"}) as broker:
        emit({"event": "broker", "bootstrap": broker.bootstrap, "startup_s": broker.startup_s})
        emit({"event": "seeded", "groups": args.groups, **seed(broker.bootstrap, args.groups)})
        frames = fetch_frames(args.groups)
        rates = []
        for r in range(args.rounds):
            elapsed, last = raw_pass(broker.bootstrap, frames)
            check(last, args.groups)
            rates.append(args.groups / elapsed)
            emit({"event": "raw_pass", "round": r, "s": round(elapsed, 3)})
        loads = []
        for r in range(args.rounds):
            loads.append(client_pass(broker.bootstrap, args.groups))
            emit({"event": "client_pass", "round": r, "s": round(loads[-1], 3)})
    emit(
        {
            "summary": {
                "groups": args.groups,
                "offset_fetch_per_s": round(max(rates)),
                "groups_5k_fetch_s": round(min(loads), 3),
            }
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
