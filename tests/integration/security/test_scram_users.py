"""SCRAM users managed with Alter/DescribeUserScramCredentials, kept durably and salted."""

from __future__ import annotations

import json
import stat
from collections.abc import Sequence
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from embedded_broker.runner import BrokerRunner, BrokerStartError
from embedded_broker.security.credentials import FILE_NAME

from .sasl_checks import authentication_error, check_right_and_wrong_password

LISTENERS = "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"


def start(data_dir: Path, scram_users: Sequence[tuple[str, str, str, int]] = ()) -> BrokerRunner:
    runner = BrokerRunner(
        port=0, data_dir=data_dir, config={"listeners": LISTENERS}, scram_users=scram_users
    )
    runner.start()
    return runner


def scram_config(
    runner: BrokerRunner, user: str, password: str, mechanism: str
) -> dict[str, str | int | float | bool]:
    return {
        "bootstrap.servers": runner.listeners["SASL_PLAINTEXT"].bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }


def admin(runner: BrokerRunner) -> AdminClient:
    return AdminClient({"bootstrap.servers": runner.listeners["PLAINTEXT"].bootstrap})


def upsert(
    user: str, password: str, mechanism: ScramMechanism, iterations: int
) -> UserScramCredentialUpsertion:
    return UserScramCredentialUpsertion(
        user, ScramCredentialInfo(mechanism, iterations), password.encode()
    )


def test_alter_then_authenticate_describe_delete_and_restart(tmp_path: Path) -> None:
    runner = start(tmp_path / "data")
    client = admin(runner)  # kept alive while its futures are pending
    try:
        futures = client.alter_user_scram_credentials(
            [upsert("carol", "carol-secret", ScramMechanism.SCRAM_SHA_512, 8192)]
        )
        futures["carol"].result(10)
        check_right_and_wrong_password(
            scram_config(runner, "carol", "carol-secret", "SCRAM-SHA-512"), "SCRAM-SHA-512"
        )
        described = client.describe_user_scram_credentials(["carol"])["carol"].result(10)
        infos = [(i.mechanism, i.iterations) for i in described.scram_credential_infos]
        assert infos == [(ScramMechanism.SCRAM_SHA_512, 8192)]
    finally:
        runner.stop()

    path = tmp_path / "data" / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "carol-secret" not in text
    entry = json.loads(text)["users"]["carol"]["SCRAM-SHA-512"]
    assert set(entry) == {"salt", "stored_key", "server_key", "iterations"}

    runner = start(tmp_path / "data")  # the credential survives a restart
    client = admin(runner)
    try:
        config = scram_config(runner, "carol", "carol-secret", "SCRAM-SHA-512")
        assert AdminClient(config).list_topics(timeout=10).brokers
        deletion = UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_512)
        client.alter_user_scram_credentials([deletion])["carol"].result(10)
        authentication_error(config)
        with pytest.raises(KafkaException, match="does not exist"):
            client.describe_user_scram_credentials(["carol"])["carol"].result(10)
    finally:
        runner.stop()


def test_too_few_iterations_are_refused(tmp_path: Path) -> None:
    runner = start(tmp_path / "data")
    client = admin(runner)  # kept alive while its futures are pending
    try:
        futures = client.alter_user_scram_credentials(
            [upsert("dave", "dave-secret", ScramMechanism.SCRAM_SHA_256, 1000)]
        )
        with pytest.raises(KafkaException, match="Too few iterations"):
            futures["dave"].result(10)
    finally:
        runner.stop()


def test_bootstrap_user_at_start_and_a_damaged_file(tmp_path: Path) -> None:
    users = [("SCRAM-SHA-256", "erin", "erin-secret", 4096)]
    runner = start(tmp_path / "data", scram_users=users)
    try:
        check_right_and_wrong_password(
            scram_config(runner, "erin", "erin-secret", "SCRAM-SHA-256"), "SCRAM-SHA-256"
        )
    finally:
        runner.stop()
    (tmp_path / "data" / FILE_NAME).write_text("{not json")
    with pytest.raises(BrokerStartError, match="SCRAM credentials file"):
        start(tmp_path / "data")
