"""A port that answers but is not the Kafka listener the profile describes is named in ≤ 2 s."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, SaslMechanism, SecurityProtocol
from desktop.services.probe import Verdict, first_address, probe
from desktop.views.main_window import MainWindow
from desktop.views.profile_dialog import ProfileDialog
from embedded_broker.runner import BrokerRunner
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.integration.security.conftest import secure_config
from tests.kafka.fixtures import KafkaScram, KafkaSingle
from tests.tls_certs import make_certs

LIMIT_S = 2.0


def _limit_s() -> float:
    """LIMIT_S on an idle machine; the GUI thread and the probe's worker slow down with the
    load (other tests' brokers on the same cores), as every wait in the suite does."""
    return start_timeout_s(LIMIT_S)


@pytest.fixture
def http_port() -> Iterator[int]:
    """Python's own http.server on 127.0.0.1, on a free port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerRunner]:
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    data: Path = tmp_path_factory.mktemp("probe-broker")
    runner = BrokerRunner(port=0, data_dir=data, config=secure_config(certs))
    runner.start()
    yield runner
    runner.stop()


def _open_dialog(qtbot: QtBot, window: MainWindow) -> ProfileDialog:
    qtbot.mouseClick(window.start.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.profile_dialog is not None and window.profile_dialog.isVisible())
    dialog = window.profile_dialog
    assert dialog is not None
    return dialog


def _timed_test(qtbot: QtBot, dialog: ProfileDialog) -> tuple[str, float]:
    start = time.monotonic()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=WAIT_MS)
    return dialog.test_result.text(), time.monotonic() - start


def test_http_server_port_is_not_a_kafka_broker(
    qtbot: QtBot, window: MainWindow, http_port: int
) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "web")
    qtbot.keyClicks(dialog.bootstrap, f"127.0.0.1:{http_port}")
    text, took = _timed_test(qtbot, dialog)
    assert "answers, but not as a Kafka broker: it looks like an HTTP server" in text
    assert took <= _limit_s(), f"took {took:.2f} s"


def test_tls_port_spoken_to_in_plaintext(
    qtbot: QtBot, window: MainWindow, secure_broker: BrokerRunner
) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "tls")
    qtbot.keyClicks(dialog.bootstrap, secure_broker.listeners["SSL"].bootstrap)
    text, took = _timed_test(qtbot, dialog)
    assert "it is a TLS port" in text and "Set the security protocol to SSL" in text
    assert took <= _limit_s(), f"took {took:.2f} s"


def test_sasl_port_without_sasl(
    qtbot: QtBot, window: MainWindow, secure_broker: BrokerRunner
) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "sasl")
    qtbot.keyClicks(dialog.bootstrap, secure_broker.listeners["SASL_PLAINTEXT"].bootstrap)
    text, took = _timed_test(qtbot, dialog)
    assert "requires SASL authentication" in text
    assert took <= _limit_s(), f"took {took:.2f} s"


def test_matching_listeners_still_connect(
    qtbot: QtBot, window: MainWindow, secure_broker: BrokerRunner
) -> None:
    """The probe must not stand in the way of a listener the profile does describe."""
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "plain")
    qtbot.keyClicks(dialog.bootstrap, secure_broker.listeners["PLAINTEXT"].bootstrap)
    text, _took = _timed_test(qtbot, dialog)
    assert text == "Connected: 1 broker."
    assert SecurityProtocol.PLAINTEXT.value == "PLAINTEXT"


def test_sasl_profile_without_a_keyring_asks_for_the_password_on_connect(
    qtbot: QtBot, window: MainWindow, secure_broker: BrokerRunner
) -> None:
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        profile = ClusterProfile(
            "sasl-no-keyring",
            secure_broker.listeners["SASL_PLAINTEXT"].bootstrap,
            SecurityProtocol.SASL_PLAINTEXT,
            SaslMechanism.PLAIN,
            "bob",
        )
        window.ctx.profiles.put(profile)
        window.start.reload_profiles()
        window.start.profile_list.setCurrentRow(0)
        qtbot.mouseClick(window.start.connect_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: (p := window.start.password_prompt) is not None and p.isVisible(),
            timeout=WAIT_MS,
        )
        prompt = window.start.password_prompt
        assert prompt is not None and "PLAIN" in prompt.findChild(QLabel).text()
        assert window.find_view(profile.name) is None  # nothing connects without it
        qtbot.keyClicks(prompt.password, "bob-secret")
        ok = prompt.buttons.button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.find_view(profile.name) is not None, timeout=WAIT_MS)
        view = window.find_view(profile.name)
        assert view is not None
        wait_snapshot(qtbot, view)
        assert view.session.snapshot is not None and len(view.session.snapshot.brokers) == 1
    finally:
        keyring.set_keyring(previous)


@pytest.mark.realkafka
def test_probe_reads_real_kafka_listeners(
    kafka_single: KafkaSingle, kafka_scram: KafkaScram
) -> None:
    """Apache Kafka answers the probe's ApiVersions as Kafka, and its SASL listener refuses the
    unauthenticated Metadata request (the probe's line breaks in the client id do no harm)."""
    plain = first_address(kafka_single.bootstrap)
    sasl = first_address(kafka_scram.bootstrap)
    assert plain is not None and sasl is not None
    assert probe(*plain).verdict == Verdict.KAFKA
    assert probe(*sasl).verdict == Verdict.KAFKA_SASL


def test_connect_to_an_http_port_is_refused_with_the_cause_within_2_s(
    qtbot: QtBot, window: MainWindow, http_port: int
) -> None:
    profile = ClusterProfile("web-connect", f"127.0.0.1:{http_port}")
    window.ctx.profiles.put(profile)
    window.start.reload_profiles()
    window.start.profile_list.setCurrentRow(0)
    start = time.monotonic()
    qtbot.mouseClick(window.start.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.start.connect_error.isVisible, timeout=WAIT_MS)
    took = time.monotonic() - start
    text = window.start.connect_error.text()
    assert "answers, but not as a Kafka broker: it looks like an HTTP server" in text
    assert took <= _limit_s(), f"took {took:.2f} s"
    assert window.find_view(profile.name) is None
