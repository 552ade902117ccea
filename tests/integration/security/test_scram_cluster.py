"""SCRAM users in a --brokers N cluster live in the controller's metadata log: added through
one broker, a user signs in on every broker, and still does after a broker restarts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from tests.integration.cluster.local_cluster import (
    LocalCluster,
    start_timeout_s,
    unless_not_yet,
    wait_for,
)

DEADLINE_S = 20.0


@pytest.fixture
def sasl_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    # PLAINTEXT between the nodes (and for the admin), SCRAM-SHA-512 for the users
    extra = [
        "--config",
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "--config",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
    ]
    cluster = LocalCluster(tmp_path / "cluster", 2, extra)
    try:
        cluster.wait_all_active()
        yield cluster
    finally:
        cluster.discard()


def _plain(cluster: LocalCluster, node_id: int) -> str:
    node = cluster.node(node_id)
    return f"{node['host']}:{node['port']}"


def _sasl(cluster: LocalCluster, node_id: int) -> str:
    def address() -> str | None:
        return cluster.node(node_id).get("listeners", {}).get("SASL_PLAINTEXT")

    found: str = wait_for(address, DEADLINE_S, f"broker {node_id}'s SASL listener")
    return found


def _signs_in(bootstrap: str, user: str, password: str) -> bool:
    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": password,
        }
    )
    try:
        # SCRAM's key stretching and a loaded machine: give the sign-in time to finish
        admin.list_topics(timeout=start_timeout_s(5))
    except KafkaException:
        return False
    return True


def _iterations(bootstrap: str, user: str) -> list[int] | None:
    """The iterations of each of ``user``'s credentials ([] for no such user); None while the
    broker does not answer in time."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        found = unless_not_yet(
            lambda: admin.describe_user_scram_credentials([user])[user].result(DEADLINE_S)
        )
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.RESOURCE_NOT_FOUND:
            return []
        raise
    if found is None:
        return None
    return [info.iterations for info in found.scram_credential_infos]


def test_a_user_added_through_one_broker_signs_in_on_another(sasl_cluster: LocalCluster) -> None:
    first = _plain(sasl_cluster, 101)
    admin = AdminClient({"bootstrap.servers": first})
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    upsert = UserScramCredentialUpsertion("carol", info, b"carol-secret")
    admin.alter_user_scram_credentials([upsert])["carol"].result(DEADLINE_S)

    second = _plain(sasl_cluster, 102)
    wait_for(lambda: _iterations(second, "carol") == [8192], 10, "broker 102 to know carol")
    second_sasl = _sasl(sasl_cluster, 102)
    assert _signs_in(second_sasl, "carol", "carol-secret")
    assert not _signs_in(second_sasl, "carol", "wrong")

    sasl_cluster.kill(102)
    sasl_cluster.restart_node(102)
    second_sasl = _sasl(sasl_cluster, 102)
    wait_for(lambda: _signs_in(second_sasl, "carol", "carol-secret"), DEADLINE_S, "carol again")

    delete = UserScramCredentialDeletion("carol", ScramMechanism.SCRAM_SHA_512)
    admin.alter_user_scram_credentials([delete])["carol"].result(DEADLINE_S)
    wait_for(lambda: _iterations(second, "carol") == [], 10, "broker 102 to drop carol")
    # broker 101 forwarded the deletion to the controller and replays it a moment later too
    wait_for(lambda: _iterations(first, "carol") == [], 10, "broker 101 to drop carol")
    assert not _signs_in(_sasl(sasl_cluster, 101), "carol", "carol-secret")
