"""Free ports for local brokers to listen on, chosen below the OS's ephemeral range.

A port the kernel hands out for "any port" (bind to 0) lies in the range it also gives every
outgoing connection. A broker restarted on such a port can then find it taken: by a client's
connection, or by a client retrying to reach that very broker while it was down, which on
loopback can pick the port as its own source and connect to itself. Kafka's usual ports (9092
and up) lie below that range for the same reason.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Linux says where its ephemeral range starts; elsewhere IANA's start (macOS, Windows) holds
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
IANA_EPHEMERAL_START = 49_152
LOWEST = 10_000  # clear of the well-known and most registered service ports
ATTEMPTS = 200


class NoFreePortsError(OSError):
    """No run of free consecutive ports was found."""


def ephemeral_start() -> int:
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return IANA_EPHEMERAL_START


def ports_free(host: str, first: int, count: int) -> bool:
    """Whether ``first`` … ``first + count - 1`` can each be listened on now."""
    for port in range(first, first + count):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port_run(host: str, count: int = 1) -> int:
    """The first of ``count`` consecutive free ports, below the ephemeral range when it leaves
    room (picked at random there, so parallel starts rarely try the same run)."""
    top = ephemeral_start() - count
    if top > LOWEST:
        for _ in range(ATTEMPTS):
            first = random.randrange(LOWEST, top)
            if ports_free(host, first, count):
                return first
    # an unusual range (starting low): the kernel's own pick, as a last resort
    for _ in range(ATTEMPTS // 4):
        with socket.socket() as s:
            s.bind((host, 0))
            first = int(s.getsockname()[1])
        if first + count < 65_536 and ports_free(host, first, count):
            return first
    raise NoFreePortsError(f"found no {count} free consecutive ports on {host}")
