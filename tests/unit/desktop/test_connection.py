"""Profiles to librdkafka settings, and librdkafka error texts to messages for users."""

from __future__ import annotations

from desktop.domain.profile import (
    ClusterProfile,
    Credentials,
    SaslMechanism,
    SecurityProtocol,
    parse_extra_properties,
)
from desktop.domain.topic_names import collides_with, topic_name_error
from desktop.services.connection import client_config, diagnose
from desktop.services.versions import describe_generation


def test_sasl_ssl_with_pem_files() -> None:
    profile = ClusterProfile(
        "p",
        "h:9093",
        SecurityProtocol.SASL_SSL,
        SaslMechanism.SCRAM_SHA_256,
        "alice",
        ca_location="/ca.pem",
        cert_location="/me.pem",
        key_location="/me.key",
    )
    conf = client_config(profile, Credentials("pw", "keypw"))
    assert conf["sasl.mechanism"] == "SCRAM-SHA-256"
    assert conf["sasl.password"] == "pw"
    assert conf["ssl.ca.location"] == "/ca.pem"
    assert conf["ssl.certificate.location"] == "/me.pem"
    assert conf["ssl.key.password"] == "keypw"
    assert conf["ssl.endpoint.identification.algorithm"] == "https"


def test_pkcs12_keystore_and_no_hostname_check() -> None:
    profile = ClusterProfile(
        "p",
        "h:9093",
        SecurityProtocol.SSL,
        cert_location="/me.P12",
        verify_hostname=False,
        extra=parse_extra_properties("# comment\nclient.id = ts\n\n"),
    )
    conf = client_config(profile, Credentials(key_password="store"))
    assert conf["ssl.keystore.location"] == "/me.P12"
    assert conf["ssl.keystore.password"] == "store"
    assert "ssl.certificate.location" not in conf
    assert conf["ssl.endpoint.identification.algorithm"] == "none"
    assert conf["client.id"] == "ts"
    assert "sasl.username" not in conf


def test_librdkafka_errors_map_to_causes() -> None:
    b = "h:9092"
    samples = {
        "sasl_plaintext://127.0.0.1:9093/bootstrap: SASL authentication error: Authentication "
        "failed during authentication due to invalid credentials with SASL mechanism "
        "SCRAM-SHA-512": "authentication",
        "ssl://h:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::"
        "certificate verify failed": "tls",
        "h:9092/bootstrap: Failed to resolve 'nohost:9092': Name or service not known": "resolve",
        "127.0.0.1:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused "
        "(after 0ms in state CONNECT)": "refused",
    }
    for text, cause in samples.items():
        found = diagnose([text], b)
        assert found is not None and found.cause == cause, text
    assert diagnose(["1/1 brokers are down"], b) is None


def test_topic_name_rules() -> None:
    assert topic_name_error("orders.v1_x-y") is None
    assert topic_name_error("") == "Enter a topic name."
    assert topic_name_error("..") is not None
    assert "found ' ' '!'" in (topic_name_error("a b!") or "")
    assert "at most 249" in (topic_name_error("x" * 250) or "")
    assert collides_with("a.b", ["a_b"]) is not None
    assert collides_with("a.b", ["a.c"]) is None


def test_kafka_generation_from_api_versions() -> None:
    assert describe_generation({0: (0, 13), 1: (4, 18)}).startswith("Apache Kafka 4.x or later")
    assert describe_generation({0: (0, 9), 1: (0, 13)}).startswith("Apache Kafka 3.x or earlier")
    assert describe_generation({18: (0, 3)}) == "Kafka-compatible broker"
