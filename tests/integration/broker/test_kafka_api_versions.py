"""ApiVersions against Kafka 4.3.1's: every API the built-in broker serves at Kafka's versions,
lower only where a reason is written down here, and the finalized features clients look for.

KAFKA_4_3_1 is what a single Kafka 4.3.1 KRaft node answers; the realkafka test checks that
against the harness's node, so the built-in checks compare with Kafka's real table.
"""

from __future__ import annotations

from typing import Any

import pytest
from kio.schema.api_versions.v4.request import ApiVersionsRequest

from embedded_broker.txn.version import tv2_enabled
from tests.broker_fixtures import RunningBroker
from tests.integration.groups.wire import WireClient

KAFKA_4_3_1: dict[int, tuple[int, int]] = {
    0: (0, 13), 1: (4, 18), 2: (1, 11), 3: (0, 13), 8: (2, 10), 9: (1, 10), 10: (0, 6),
    11: (0, 9), 12: (0, 4), 13: (0, 5), 14: (0, 5), 15: (0, 6), 16: (0, 5), 17: (0, 1),
    18: (0, 4), 19: (2, 7), 20: (1, 6), 21: (0, 2), 22: (0, 5), 23: (2, 4), 24: (0, 5),
    25: (0, 4), 26: (0, 5), 27: (1, 2), 28: (0, 5), 29: (1, 3), 30: (1, 3), 31: (1, 3),
    32: (1, 4), 33: (0, 2), 34: (1, 2), 35: (1, 5), 36: (0, 2), 37: (0, 3), 38: (1, 3),
    39: (1, 2), 40: (1, 2), 41: (1, 3), 42: (0, 2), 43: (0, 2), 44: (0, 1), 45: (0, 1),
    46: (0, 0), 47: (0, 0), 48: (0, 1), 49: (0, 1), 50: (0, 0), 51: (0, 0), 55: (0, 2),
    57: (0, 2), 60: (0, 2), 61: (0, 0), 64: (0, 0), 65: (0, 0), 66: (0, 2), 68: (0, 1),
    69: (0, 1), 74: (0, 1), 75: (0, 0), 76: (1, 1), 77: (1, 1), 78: (1, 2), 79: (1, 2),
    80: (0, 1), 81: (0, 0), 83: (0, 0), 84: (0, 0), 85: (0, 1), 86: (0, 0), 87: (0, 1),
    88: (0, 0), 89: (0, 0), 90: (0, 1), 91: (0, 0), 92: (0, 0),
}  # fmt: skip
KAFKA_SUPPORTED_FEATURES = {
    "metadata.version": (7, 30),
    "group.version": (0, 1),
    "transaction.version": (0, 2),
    "share.version": (0, 1),
    "streams.version": (0, 1),
    "eligible.leader.replicas.version": (0, 1),
    "kraft.version": (0, 1),
}
KAFKA_FINALIZED_FEATURES = {
    "metadata.version": (30, 30),
    "group.version": (1, 1),
    "transaction.version": (2, 2),
    "share.version": (1, 1),
    "streams.version": (1, 1),
    "eligible.leader.replicas.version": (1, 1),
}

# Where the built-in broker serves fewer versions than Kafka 4.3.1, and why.
BELOW_KAFKA: dict[int, tuple[tuple[int, int], str]] = {
    0: (
        (3, 13),
        "Produce: v0-2 are refused (Kafka 4 lists them only for old librdkafka and refuses them"
        " too)",
    ),
}
if not tv2_enabled():
    # transactions v2 switched off (txn/version.py): the versions above v1's are not offered
    BELOW_KAFKA.update(
        {
            0: ((3, 11), "Produce v12 is transactions v2 (KIP-890), switched off"),
            22: ((0, 4), "InitProducerId v5 comes with transactions v2, switched off"),
            24: ((0, 4), "AddPartitionsToTxn v5 is transactions v2, switched off"),
            25: ((0, 3), "AddOffsetsToTxn v4 is transactions v2, switched off"),
            26: ((0, 3), "EndTxn v4-5 are transactions v2, switched off"),
            28: ((0, 3), "TxnOffsetCommit v4-5 are transactions v2, switched off"),
        }
    )

# The features this broker finalizes (api_versions.py says why the others are left out).
OUR_FINALIZED_FEATURES = {
    "metadata.version": (30, 30),
    "group.version": (1, 1),
    "share.version": (1, 1),
}
if tv2_enabled():
    OUR_FINALIZED_FEATURES["transaction.version"] = (2, 2)


def api_versions(bootstrap: str) -> Any:
    client = WireClient(bootstrap)
    try:
        return client.send(
            ApiVersionsRequest(client_software_name="topicscope", client_software_version="1")
        )
    finally:
        client.close()


def table(response: Any) -> dict[int, tuple[int, int]]:
    return {int(k.api_key): (int(k.min_version), int(k.max_version)) for k in response.api_keys}


def test_every_api_served_at_kafka_4_3_1_versions_or_a_documented_lower_one(
    builtin_broker: RunningBroker,
) -> None:
    ours = table(api_versions(builtin_broker.bootstrap))
    assert set(ours) <= set(KAFKA_4_3_1), "an API Kafka 4.3.1 does not serve"
    differ = {key: span for key, span in ours.items() if span != KAFKA_4_3_1[key]}
    undocumented = {key: span for key, span in differ.items() if key not in BELOW_KAFKA}
    assert undocumented == {}, f"versions unlike Kafka's {KAFKA_4_3_1} with no reason given"
    for key, span in differ.items():
        low, high = span
        assert KAFKA_4_3_1[key][0] <= low <= high <= KAFKA_4_3_1[key][1]
        assert span == BELOW_KAFKA[key][0], f"API {key}: update BELOW_KAFKA's entry"


def test_the_modern_paths_are_all_there(builtin_broker: RunningBroker) -> None:
    # what clients key their modern code paths on (kafka-python's inference, KIP-848, topic ids)
    ours = table(api_versions(builtin_broker.bootstrap))
    for key in (1, 2, 3, 8, 9, 10, 15, 34, 55, 74):
        assert ours.get(key) == KAFKA_4_3_1[key], key


def test_finalized_features_are_those_this_broker_implements(
    builtin_broker: RunningBroker,
) -> None:
    response = api_versions(builtin_broker.bootstrap)
    finalized = {
        f.name: (f.min_version_level, f.max_version_level) for f in response.finalized_features
    }
    supported = {f.name: (f.min_version, f.max_version) for f in response.supported_features}
    assert finalized == OUR_FINALIZED_FEATURES
    # each finalized level is one Kafka 4.3.1 also finalizes, and one we say we support
    for name, (low, high) in finalized.items():
        assert KAFKA_FINALIZED_FEATURES[name] == (low, high)
        assert supported[name][0] <= low <= high <= supported[name][1]
    # nothing we do not implement is offered: clients take transaction.version 2 or
    # streams.version 1 as leave to use transactions v2 or streams groups
    assert set(supported) == set(OUR_FINALIZED_FEATURES)
    assert response.finalized_features_epoch >= 0


@pytest.mark.realkafka
def test_the_table_here_is_what_kafka_4_3_1_advertises(kafka_single: Any) -> None:
    response = api_versions(kafka_single.bootstrap)
    assert table(response) == KAFKA_4_3_1
    assert {
        f.name: (f.min_version, f.max_version) for f in response.supported_features
    } == KAFKA_SUPPORTED_FEATURES
    assert {
        f.name: (f.min_version_level, f.max_version_level) for f in response.finalized_features
    } == KAFKA_FINALIZED_FEATURES
