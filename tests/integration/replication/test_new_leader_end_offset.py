"""KIP-207: a newly elected leader whose high watermark is still below the start of its own
leader epoch answers a consumer's ListOffsets(latest) with OFFSET_NOT_AVAILABLE, as Kafka does,
instead of an end offset its predecessor may already have gone past; once its followers have
caught up it answers the high watermark."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from .cluster import Cluster, batch, latest_offset, produce, wait_until


def test_a_new_leader_gives_no_end_offset_until_its_high_watermark_reaches_its_epoch(
    cluster: Cluster,
) -> None:
    # three in-sync replicas needed to commit: with 103 down the high watermark stands at 0
    # while the records reach both 101 and 102
    cluster.create_topic("elected", **{"min.insync.replicas": "3"})
    cluster.stop(103)
    cluster.set_state("elected", 0, leader=101, epoch=1, isr=(101, 102))
    answer = produce(cluster.bootstrap(101), "elected", batch(5), acks=1)
    assert answer.error_code == ErrorCode.none
    wait_until(lambda: cluster.offsets(102, "elected") == (5, 0), what="102's copy of the records")
    # 102 is elected: its epoch starts at offset 5, its high watermark is still 0
    cluster.set_state("elected", 0, leader=102, epoch=2, isr=(101, 102))
    wait_until(
        lambda: cluster.on(102, lambda s: s.replicas.get("elected", 0).leader),
        what="102 to lead",
    )
    refused = latest_offset(cluster.bootstrap(102), "elected")
    assert refused.error_code == ErrorCode.offset_not_available
    # with every replica back in sync the high watermark reaches the epoch: the end offset
    cluster.start(103)
    cluster.set_state("elected", 0, leader=102, epoch=3, isr=(101, 102, 103))
    wait_until(
        lambda: cluster.offsets(102, "elected") == (5, 5), what="102's high watermark to reach 5"
    )
    answer = latest_offset(cluster.bootstrap(102), "elected")
    assert (answer.error_code, answer.offset) == (ErrorCode.none, 5)
