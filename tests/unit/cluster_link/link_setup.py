"""A broker's link to a controller listening on a local port, its metadata image already
replayed, for tests of what the link sends."""

from __future__ import annotations

from collections.abc import Sequence

from embedded_broker.cluster_link.link import BrokerLink
from embedded_broker.metadata.records import MetadataRecord
from embedded_broker.state import BrokerState


def linked(
    state: BrokerState, port: int, records: Sequence[MetadataRecord], epoch: int
) -> BrokerLink:
    """A link for ``state`` to the controller at ``port``, with ``records`` replayed (from offset
    0) and registered at broker epoch ``epoch``; heartbeats every 300 ms once started."""
    link = BrokerLink(
        state,
        host="127.0.0.1",
        port=9092,
        rack=None,
        cluster_id="c",
        controller=("127.0.0.1", port),
        heartbeat_ms=300,
        metadata_dir=None,
    )
    for offset, record in enumerate(records):
        link.image.replay(offset, record)
    link.broker_epoch = epoch
    return link
