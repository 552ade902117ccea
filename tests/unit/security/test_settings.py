"""Listener settings, JAAS PLAIN users, SCRAM start-up users and the exposure warning."""

from __future__ import annotations

import pytest

from embedded_broker.config import BrokerConfig, ConfigError
from embedded_broker.exposure import listeners_warning
from embedded_broker.security.jaas import plain_users
from embedded_broker.security.listeners import Listener, parse_listeners
from embedded_broker.security.runtime import Security, parse_scram_user


def test_default_is_one_plaintext_listener_on_host_and_port() -> None:
    settings = parse_listeners(BrokerConfig({}), "127.0.0.1", 9092)
    assert settings.listeners == (Listener("PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9092),)
    assert settings.inter_broker == "PLAINTEXT"


def test_listeners_map_advertised_and_inter_broker() -> None:
    config = BrokerConfig(
        {
            "listeners": "INTERNAL://0.0.0.0:9092,CLIENT://[::1]:9093",
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CLIENT:SASL_SSL",
            "advertised.listeners": "CLIENT://kafka.example:19093",
            "inter.broker.listener.name": "internal",
        }
    )
    settings = parse_listeners(config, "127.0.0.1", 0)
    assert [(x.name, x.protocol, x.host, x.port) for x in settings.listeners] == [
        ("INTERNAL", "PLAINTEXT", "0.0.0.0", 9092),
        ("CLIENT", "SASL_SSL", "::1", 9093),
    ]
    assert settings.advertised == {"CLIENT": ("kafka.example", 19093)}
    assert settings.inter_broker == "INTERNAL"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"listeners": "PLAINTEXT:9092"}, "expected NAME://HOST:PORT"),
        ({"listeners": "FOO://127.0.0.1:1"}, "Listener FOO has no security protocol"),
        ({"listeners": "PLAINTEXT://a:1,PLAINTEXT://b:2"}, "appears twice"),
        ({"advertised.listeners": "SSL://h:1"}, "not in listeners"),
        ({"inter.broker.listener.name": "OTHER"}, "is not one of the listeners"),
        ({"listener.security.protocol.map": "X:TLS"}, "Invalid listener.security.protocol.map"),
    ],
)
def test_bad_listener_settings_say_what_is_wrong(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_listeners(BrokerConfig(settings), "127.0.0.1", 9092)


def test_listener_prefixed_settings_are_accepted_and_others_are_not() -> None:
    BrokerConfig(
        {
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": "x",
            "listener.name.a.ssl.client.auth": "required",
        }
    )
    with pytest.raises(ConfigError, match="Unknown broker setting"):
        BrokerConfig({"listener.name.a.num.partitions": "3"})
    with pytest.raises(ConfigError, match=r"ssl\.client\.auth"):
        BrokerConfig({"listener.name.a.ssl.client.auth": "maybe"})


def test_plain_users_from_jaas() -> None:
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="admin" password="a" user_admin="a" user_bob="b;\\"c" user_x=plain;'
    )
    assert plain_users(jaas, "sasl.jaas.config") == {"admin": "a", "bob": 'b;"c', "x": "plain"}
    with pytest.raises(ConfigError, match="PlainLoginModule"):
        plain_users("com.example.Other required;", "sasl.jaas.config")
    with pytest.raises(ConfigError, match="end with"):
        plain_users(jaas.rstrip(";"), "sasl.jaas.config")


def test_scram_user_argument() -> None:
    assert parse_scram_user("SCRAM-SHA-512=[name=alice,password=s3cret]") == (
        "SCRAM-SHA-512",
        "alice",
        "s3cret",
        4096,
    )
    assert parse_scram_user("SCRAM-SHA-256=[name=b,password=p,iterations=8192]")[3] == 8192
    for bad in ("alice:pw", "SCRAM-SHA-1=[name=a,password=b]", "SCRAM-SHA-512=[name=a]"):
        with pytest.raises(ConfigError):
            parse_scram_user(bad)
    with pytest.raises(ConfigError, match="between 4096 and 16384"):
        parse_scram_user("SCRAM-SHA-512=[name=a,password=b,iterations=100]")


def _warning(listeners: str, protocol_map: str | None = None) -> str | None:
    settings = {"listeners": listeners}
    if protocol_map:
        settings["listener.security.protocol.map"] = protocol_map
    security = Security(BrokerConfig(settings), None, "127.0.0.1", 0)
    return listeners_warning(security, {})


def test_exposure_warning_only_for_unauthenticated_non_loopback_listeners() -> None:
    assert _warning("PLAINTEXT://127.0.0.1:9092") is None
    assert "0.0.0.0" in str(_warning("PLAINTEXT://0.0.0.0:9092"))
    assert _warning("PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://0.0.0.0:9093") is None
    mixed = _warning(
        "SASL_PLAINTEXT://0.0.0.0:9093,OPEN://0.0.0.0:9094",
        "OPEN:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
    )
    assert mixed is not None and "OPEN on 0.0.0.0 port 9094" in mixed and "SASL" in mixed
