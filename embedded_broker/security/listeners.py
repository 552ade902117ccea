"""Kafka's listener settings: listeners, advertised.listeners and the security protocol map."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embedded_broker.config import BrokerConfig, ConfigError

# BrokerState.extensions key: listener name -> advertised (host, port), for Metadata
ADVERTISED_KEY = "advertised_listeners"
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_ENDPOINT = re.compile(r"^([A-Za-z0-9_.-]+)://(\[[^\]]*\]|[^:\[\]]*):(-?\d+)$")


@dataclass(frozen=True, slots=True)
class Listener:
    """One endpoint: its name (as configured, upper case), protocol and bind address."""

    name: str
    protocol: str
    host: str
    port: int

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    listeners: tuple[Listener, ...]
    advertised: dict[str, tuple[str, int]]  # listener name -> host ("" = as connected), port
    inter_broker: str

    def listener(self, name: str) -> Listener:
        return next(lst for lst in self.listeners if lst.name == name)


def _protocol_map(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        name, sep, protocol = item.partition(":")
        name, protocol = name.strip().upper(), protocol.strip().upper()
        if not sep or not name or protocol not in PROTOCOLS:
            raise ConfigError(
                f"Invalid listener.security.protocol.map entry {item!r}: expected NAME:PROTOCOL "
                f"with PROTOCOL one of {', '.join(PROTOCOLS)}"
            )
        out[name] = protocol
    return out


def _endpoints(raw: str, setting: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        match = _ENDPOINT.match(item)
        if match is None:
            raise ConfigError(
                f"Invalid {setting} entry {item!r}: expected NAME://HOST:PORT, "
                "e.g. PLAINTEXT://127.0.0.1:9092 or SASL_SSL://[::1]:9093"
            )
        name, host, port = match.group(1).upper(), match.group(2).strip("[]"), int(match.group(3))
        if not 0 <= port <= 65535:
            raise ConfigError(f"Invalid {setting} entry {item!r}: port out of range")
        if any(name == seen for seen, _, _ in out):
            raise ConfigError(f"Invalid {setting}: listener name {name} appears twice")
        out.append((name, host, port))
    if not out:
        raise ConfigError(f"{setting} names no listener")
    return out


def parse_listeners(config: BrokerConfig, host: str, port: int) -> ListenerSettings:
    """The listeners to open; without `listeners`, one PLAINTEXT listener on host:port."""
    protocols = _protocol_map(config.get_str("listener.security.protocol.map") or "")
    raw = config.get_str("listeners")
    if raw is None:
        listeners: tuple[Listener, ...] = (Listener("PLAINTEXT", "PLAINTEXT", host, port),)
    else:
        found = []
        for name, lhost, lport in _endpoints(raw, "listeners"):
            protocol = protocols.get(name)
            if protocol is None:
                raise ConfigError(
                    f"Listener {name} has no security protocol: name it after one of "
                    f"{', '.join(PROTOCOLS)} or map it in listener.security.protocol.map"
                )
            found.append(Listener(name, protocol, lhost, lport))
        listeners = tuple(found)
    names = {lst.name for lst in listeners}
    advertised: dict[str, tuple[str, int]] = {}
    raw_advertised = config.get_str("advertised.listeners")
    if raw_advertised is not None:
        for name, ahost, aport in _endpoints(raw_advertised, "advertised.listeners"):
            if name not in names:
                raise ConfigError(
                    f"advertised.listeners names {name}, which is not in listeners "
                    f"({', '.join(sorted(names))})"
                )
            advertised[name] = (ahost, aport)
    inter = (config.get_str("inter.broker.listener.name") or listeners[0].name).upper()
    if inter not in names:
        raise ConfigError(
            f"inter.broker.listener.name {inter} is not one of the listeners "
            f"({', '.join(sorted(names))})"
        )
    return ListenerSettings(listeners, advertised, inter)
