"""Sizes on disk: the topic Size column and per-broker log-dir sizes, from DescribeLogDirs
through kafka-python, on the built-in broker (equal to the files on disk) and on real Kafka
(over the profile's SASL settings)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.cluster import BrokerInfo
from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol
from desktop.models.base import SORT_ROLE
from desktop.models.brokers import BrokerRow, BrokersModel
from desktop.models.topics import TopicsModel
from desktop.services.log_dirs import (
    SizesUnavailableError,
    kafka_python_config,
    sizes_from_response,
)
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.messages_support import create_topic, produce_all
from tests.integration.broker.config_views import segment_bytes_on_disk
from tests.kafka.fixtures import KafkaScram


def _part(index: int, size: int, future: bool = False) -> dict[str, object]:
    return {"partition_index": index, "partition_size": size, "is_future_key": future}


def test_sizes_sum_partitions_per_topic_and_broker() -> None:
    response = [
        {
            "broker": 1,
            "log_dirs": [
                {
                    "error_code": 0,
                    "topics": [
                        {"name": "a", "partitions": [_part(0, 100), _part(1, 50)]},
                        {"name": "b", "partitions": [_part(0, 7), _part(0, 999, future=True)]},
                    ],
                },
                {"error_code": 57, "topics": []},  # an offline dir: no partitions
            ],
        },
        {
            "broker": 2,
            "log_dirs": [
                {"error_code": 0, "topics": [{"name": "a", "partitions": [_part(0, 100)]}]}
            ],
        },
        {"broker": 3, "log_dirs": []},
    ]
    sizes = sizes_from_response(response, 1.0)
    assert sizes.topics == {"a": 250, "b": 7}  # every replica's bytes; a move counted once
    assert sizes.brokers == {1: 157, 2: 100, 3: 0}


def test_kafka_python_gets_the_profiles_security_settings() -> None:
    profile = ClusterProfile(
        "secure",
        "h1:9093, h2:9093",
        security_protocol=SecurityProtocol.SASL_SSL,
        sasl_mechanism=SaslMechanism.SCRAM_SHA_256,
        username="alice",
        ca_location="/ca.pem",
        cert_location="/client.pem",
        key_location="/client.key",
        verify_hostname=False,
    )
    conf = kafka_python_config(profile, Credentials("pw", "keypw"), 5.0)
    assert conf["bootstrap_servers"] == ["h1:9093", "h2:9093"]
    assert conf["security_protocol"] == "SASL_SSL"
    assert conf["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (conf["sasl_plain_username"], conf["sasl_plain_password"]) == ("alice", "pw")
    assert conf["ssl_cafile"] == "/ca.pem"
    assert (conf["ssl_certfile"], conf["ssl_keyfile"]) == ("/client.pem", "/client.key")
    assert conf["ssl_password"] == "keypw"
    assert conf["ssl_check_hostname"] is False
    assert conf["request_timeout_ms"] == 5000
    p12 = ClusterProfile(
        "p12", "h:9093", security_protocol=SecurityProtocol.SSL, cert_location="/me.p12"
    )
    with pytest.raises(SizesUnavailableError, match="PKCS#12"):
        kafka_python_config(p12, Credentials(), 5.0)


LOG_DIR = [c.title for c in BrokersModel.columns].index("Log-dir size")


def test_a_silent_brokers_size_shows_as_last_known(qtbot: QtBot) -> None:
    model = BrokersModel()
    rows = [
        BrokerRow(BrokerInfo(101, "h", 1), False, 1, 3, log_dir_bytes=2048),
        BrokerRow(BrokerInfo(103, "h", 3), False, 0, 3, 4096, True, "offline", up=False),
    ]
    model.set_rows(rows)
    assert model.index(0, LOG_DIR).data() == "2.0 KiB"
    assert model.index(1, LOG_DIR).data() == "4.0 KiB (last known)"
    assert model.index(1, LOG_DIR).data(SORT_ROLE) == 4096


def _size_shown(view: ClusterView, topic: str) -> str:
    model = view.topics.model
    for row in range(model.rowCount()):
        if model.index(row, TopicsModel.NAME).data() == topic:
            return str(model.index(row, TopicsModel.SIZE).data() or "")
    return ""


def test_builtin_broker_sizes_match_the_files_on_disk(
    qtbot: QtBot, window: MainWindow, builtin_broker: RunningBroker
) -> None:
    assert builtin_broker.data_dir is not None
    create_topic(builtin_broker.bootstrap, "sized", 2)
    produce_all(builtin_broker.bootstrap, "sized", [(None, b"v" * 500)] * 400)
    view = window.open_cluster(ClusterProfile("sizes", builtin_broker.bootstrap), Credentials())
    wait_snapshot(qtbot, view)
    session = view.session
    qtbot.waitUntil(lambda: session.sizes is not None, timeout=WAIT_MS)  # asked by itself
    on_disk = sum(segment_bytes_on_disk(builtin_broker.data_dir / f"sized-{p}") for p in (0, 1))
    assert on_disk > 400 * 500
    assert session.sizes is not None and session.sizes.topics["sized"] == on_disk
    # the sizes join the shown snapshot at once, or at the next refresh when a newer snapshot
    # landed while they were read (Session._on_sizes): on a loaded machine, the latter
    qtbot.waitUntil(
        lambda: (
            session.snapshot is not None
            and (shown := session.snapshot.topic("sized")) is not None
            and shown.size_bytes is not None
        ),
        timeout=WAIT_MS,
    )
    snap = session.snapshot
    assert snap is not None
    topic = snap.topic("sized")
    assert topic is not None and topic.size_bytes == on_disk
    (broker_id,) = snap.broker_sizes
    assert snap.broker_sizes[broker_id] >= on_disk
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(lambda: _size_shown(view, "sized") != "", timeout=WAIT_MS)
    view.tabs.setCurrentWidget(view.brokers)
    brokers = view.brokers.model
    qtbot.waitUntil(
        lambda: brokers.rowCount() == 1 and str(brokers.index(0, LOG_DIR).data() or "") != "",
        timeout=WAIT_MS,
    )


def test_sizes_refresh_into_later_snapshots(qtbot: QtBot, builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "grows", 1)
    session = ClusterSession(ClusterProfile("t", builtin_broker.bootstrap), Credentials(), 0.3)
    session.start()
    try:
        qtbot.waitUntil(lambda: session.sizes is not None, timeout=WAIT_MS)
        produce_all(builtin_broker.bootstrap, "grows", [(None, b"x" * 1000)] * 50)
        with qtbot.waitSignal(session.snapshot_changed, timeout=WAIT_MS):
            session.fetch_sizes()
        qtbot.waitUntil(
            lambda: (
                session.snapshot is not None
                and (session.snapshot.topic("grows") or _NONE).size_bytes >= 50_000
            ),
            timeout=WAIT_MS,
        )
        # the next refresh keeps them (a snapshot never loses its sizes)
        before = session.snapshot
        with qtbot.waitSignal(session.snapshot_changed, timeout=WAIT_MS):
            session.refresh()
        assert session.snapshot is not before
        grown = session.snapshot.topic("grows") if session.snapshot else None
        assert grown is not None and (grown.size_bytes or 0) >= 50_000
    finally:
        session.close()


class _None:
    size_bytes = 0


_NONE = _None()


@pytest.mark.realkafka
def test_real_kafka_sizes_over_scram(
    qtbot: QtBot, window: MainWindow, kafka_scram: KafkaScram
) -> None:
    topic = "sizes-real"
    conf = kafka_scram.client_config()
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(conf)
    futures = admin.create_topics([NewTopic(topic, 2, 1)])
    try:
        futures[topic].result(30)
    except Exception as exc:  # left over from an earlier run of the session-wide cluster
        assert "already exists" in str(exc)
    extra = {k: v for k, v in conf.items() if k != "bootstrap.servers"}
    produce_all(kafka_scram.bootstrap, topic, [(None, b"r" * 300)] * 200, **extra)
    profile = ClusterProfile(
        "real",
        kafka_scram.bootstrap,
        security_protocol=SecurityProtocol(kafka_scram.security_protocol),
        sasl_mechanism=SaslMechanism(kafka_scram.mechanism),
        username=kafka_scram.username,
    )
    view = window.open_cluster(profile, Credentials(kafka_scram.password))
    wait_snapshot(qtbot, view)
    qtbot.waitUntil(
        lambda: view.session.sizes is not None or view.session.sizes_error != "", timeout=WAIT_MS
    )
    sizes = view.session.sizes
    assert sizes is not None, view.session.sizes_error
    assert sizes.topics[topic] >= 200 * 300
    assert all(size > 0 for size in sizes.brokers.values())
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(lambda: _size_shown(view, topic) != "", timeout=WAIT_MS)


def test_local_tab_has_sizes(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    view = window.find_view(LOCAL_NAME)
    assert view is not None
    qtbot.waitUntil(lambda: view.session.sizes is not None, timeout=WAIT_MS)
    # in the shown snapshot at once, or at the next refresh (see the test above)
    qtbot.waitUntil(
        lambda: view.session.snapshot is not None and bool(view.session.snapshot.broker_sizes),
        timeout=WAIT_MS,
    )
    snap = view.session.snapshot
    assert snap is not None and snap.broker_sizes
