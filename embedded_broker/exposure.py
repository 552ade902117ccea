"""Whether a listen address is reachable from other machines, and the warning that says so."""

from __future__ import annotations

import ipaddress
import socket


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
