"""A share consumer over raw kio requests: heartbeat, share sessions, fetch and acknowledge, so
tests can hold records unacknowledged, release or reject them, and read delivery counts."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kio.schema.describe_share_group_offsets.v1 import request as offsets_req
from kio.schema.incremental_alter_configs.v1 import request as alter_req
from kio.schema.share_acknowledge.v2 import request as ack_req
from kio.schema.share_fetch.v2 import request as fetch_req
from kio.schema.share_group_describe.v1 import request as describe_req
from kio.schema.share_group_heartbeat.v1 import request as heartbeat_req

from tests.integration.groups.wire import WireClient, ms

ACCEPT, RELEASE, REJECT = 1, 2, 3


@dataclass(frozen=True)
class Got:
    """What one partition of a ShareFetch answered."""

    error: int
    ack_error: int
    acquired: list[tuple[int, int, int]]  # first offset, last offset, delivery count

    def offsets(self) -> list[int]:
        return [o for first, last, _ in self.acquired for o in range(first, last + 1)]

    def counts(self) -> dict[int, int]:
        return {o: c for first, last, c in self.acquired for o in range(first, last + 1)}


class ShareWire:
    """One share group member with its own connection and share session."""

    def __init__(self, bootstrap: str, group: str, topic_id: uuid.UUID) -> None:
        self.client = WireClient(bootstrap, client_id="share-wire")
        self.group = group
        self.topic_id = topic_id
        self.member_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.member_epoch = 0
        self.session_epoch = 0

    def close(self) -> None:
        self.client.close()

    def heartbeat(self, topics: tuple[str, ...] | None, epoch: int | None = None) -> Any:
        return self.client.send(
            heartbeat_req.ShareGroupHeartbeatRequest(
                group_id=self.group,
                member_id=self.member_id,
                member_epoch=self.member_epoch if epoch is None else epoch,
                subscribed_topic_names=topics,
            )
        )

    def join(self, topic: str) -> Any:
        response = self.heartbeat((topic,))
        assert response.error_code == 0, response
        self.member_epoch = response.member_epoch
        return response

    def fetch(
        self,
        partitions: Iterable[int] = (0,),
        acks: dict[int, list[tuple[int, int, int]]] | None = None,
        *,
        max_wait_ms: int = 0,
        max_records: int = 500,
        epoch: int | None = None,
    ) -> Any:
        """A ShareFetch of ``partitions`` carrying ``acks`` (partition -> (first, last, type));
        the session epoch moves on after each answer without a top-level error."""
        acks = acks or {}
        wanted = sorted(set(partitions) | set(acks))
        topic = fetch_req.FetchTopic(
            topic_id=self.topic_id,
            partitions=tuple(
                fetch_req.FetchPartition(
                    partition_index=p,
                    acknowledgement_batches=tuple(
                        fetch_req.AcknowledgementBatch(
                            first_offset=f, last_offset=last, acknowledge_types=(t,)
                        )
                        for f, last, t in acks.get(p, [])
                    ),
                )
                for p in wanted
            ),
        )
        used = self.session_epoch if epoch is None else epoch
        response = self.client.send(
            fetch_req.ShareFetchRequest(
                group_id=self.group,
                member_id=self.member_id,
                share_session_epoch=used,
                max_wait=ms(max_wait_ms),
                min_bytes=1,
                max_bytes=1024 * 1024,
                max_records=max_records,
                batch_size=max_records,
                topics=(topic,) if wanted else (),
                forgotten_topics_data=(),
            )
        )
        if response.error_code == 0 and epoch is None:
            self.session_epoch = 1 if used == -1 else used + 1
        return response

    def got(self, response: Any, partition: int = 0) -> Got:
        for topic in response.responses:
            for p in topic.partitions:
                if p.partition_index == partition:
                    return Got(
                        int(p.error_code),
                        int(p.acknowledge_error_code),
                        [
                            (int(r.first_offset), int(r.last_offset), int(r.delivery_count))
                            for r in p.acquired_records
                        ],
                    )
        return Got(0, 0, [])

    def acknowledge(self, partition: int, acks: list[tuple[int, int, int]]) -> Any:
        response = self.client.send(
            ack_req.ShareAcknowledgeRequest(
                group_id=self.group,
                member_id=self.member_id,
                share_session_epoch=self.session_epoch,
                topics=(
                    ack_req.AcknowledgeTopic(
                        topic_id=self.topic_id,
                        partitions=(
                            ack_req.AcknowledgePartition(
                                partition_index=partition,
                                acknowledgement_batches=tuple(
                                    ack_req.AcknowledgementBatch(
                                        first_offset=f, last_offset=last, acknowledge_types=(t,)
                                    )
                                    for f, last, t in acks
                                ),
                            ),
                        ),
                    ),
                ),
            )
        )
        if response.error_code == 0:
            self.session_epoch += 1
        return response


def describe(bootstrap: str, group: str) -> Any:
    client = WireClient(bootstrap)
    try:
        response = client.send(
            describe_req.ShareGroupDescribeRequest(
                group_ids=(group,), include_authorized_operations=False
            )
        )
        return response.groups[0]
    finally:
        client.close()


def start_offsets(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (start offset, lag) from DescribeShareGroupOffsets."""
    client = WireClient(bootstrap)
    try:
        response = client.send(
            offsets_req.DescribeShareGroupOffsetsRequest(
                groups=(
                    offsets_req.DescribeShareGroupOffsetsRequestGroup(group_id=group, topics=None),
                )
            )
        )
    finally:
        client.close()
    found = {}
    for t in response.groups[0].topics:
        if t.topic_name == topic:
            for p in t.partitions:
                found[int(p.partition_index)] = (int(p.start_offset), int(p.lag))
    return found


def alter_group_configs(
    bootstrap: str, group: str, configs: dict[str, str]
) -> tuple[int, str | None]:
    """IncrementalAlterConfigs SET of a group's configs: (error code, message)."""
    client = WireClient(bootstrap)
    try:
        response = client.send(
            alter_req.IncrementalAlterConfigsRequest(
                resources=(
                    alter_req.AlterConfigsResource(
                        resource_type=32,  # GROUP
                        resource_name=group,
                        configs=tuple(
                            alter_req.AlterableConfig(name=k, config_operation=0, value=v)
                            for k, v in configs.items()
                        ),
                    ),
                ),
                validate_only=False,
            )
        )
    finally:
        client.close()
    result = response.responses[0]
    return int(result.error_code), result.error_message


def hold_longer(bootstrap: str, group: str) -> None:
    """Records acquired from now on stay locked 30 s: nothing a test holds expires under load."""
    assert alter_group_configs(bootstrap, group, {"share.record.lock.duration.ms": "30000"})[0] == 0
