"""ApiVersions tells clients the consumer group protocol is there, as Kafka 4.3.1 does:
ConsumerGroupHeartbeat and ConsumerGroupDescribe v0-1 and the finalized feature group.version 1."""

from __future__ import annotations

from kio.schema.api_versions.v3.request import ApiVersionsRequest

from .wire import WireClient


def test_api_versions_advertise_the_consumer_group_protocol(bootstrap: str) -> None:
    client = WireClient(bootstrap)
    try:
        response = client.send(
            ApiVersionsRequest(client_software_name="topicscope", client_software_version="1")
        )
    finally:
        client.close()
    versions = {k.api_key: (k.min_version, k.max_version) for k in response.api_keys}
    assert versions[68] == (0, 1) and versions[69] == (0, 1)
    finalized = {
        f.name: (f.min_version_level, f.max_version_level) for f in response.finalized_features
    }
    assert finalized["group.version"] == (1, 1)
    assert response.finalized_features_epoch >= 0
