"""Whether a listen address is reachable from other machines, and the warning that says so."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .security.runtime import Security


def is_loopback(host: str) -> bool:
    """True when every address ``host`` stands for is a loopback address ("" means all)."""
    name = host.strip().strip("[]").split("%", 1)[0]  # [::1], fe80::1%eth0
    if not name:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(is_loopback(str(info[4][0])) for info in infos)


def exposure_warning(host: str, port: int) -> str | None:
    """The no-authentication warning for a non-loopback listen address, else None."""
    if is_loopback(host):
        return None
    shown = host or "all addresses"
    return (
        f"The broker listens on {shown} port {port}, which other computers may reach, and it "
        "has no authentication or encryption: anyone who can connect can read, write and "
        "delete every topic. Listen on 127.0.0.1 (the default) unless you mean to share it, "
        "and then only on a network you trust."
    )


def listeners_warning(security: Security, bound: Mapping[str, tuple[str, int]]) -> str | None:
    """The warning for listeners others may reach where nobody has to authenticate, else None.

    SASL listeners and SSL listeners that require client certificates are authenticated; an
    SSL listener without required certificates encrypts but lets anyone in.
    """
    exposed = [
        (listener, bound.get(listener.name, (listener.host, listener.port)))
        for listener in security.listeners.listeners
        if not security.authenticated(listener) and not is_loopback(listener.host)
    ]
    if not exposed:
        return None
    if len(security.listeners.listeners) == 1 and exposed[0][0].protocol == "PLAINTEXT":
        return exposure_warning(*exposed[0][1])
    named = ", ".join(
        f"{lst.name} on {host or 'all addresses'} port {port}" for lst, (host, port) in exposed
    )
    return (
        f"These listeners may be reached from other computers and ask nobody to authenticate: "
        f"{named}. Anyone who can connect to them can read, write and delete every topic. Use "
        "SASL_SSL (or SSL with ssl.client.auth=required) for listeners you share, or listen on "
        "127.0.0.1."
    )
