"""A minimal blocking Kafka client for version sweeps: kio requests over a raw socket."""

from __future__ import annotations

import datetime
import importlib
import socket
import struct
from dataclasses import fields
from types import ModuleType
from typing import Any

from kio.serial import entity_reader
from kio.static.primitive import i32Timedelta

from embedded_broker.protocol.codec import RequestHeader, api_schema, encode_request

API_MODULES = {
    8: "offset_commit",
    9: "offset_fetch",
    10: "find_coordinator",
    11: "join_group",
    12: "heartbeat",
    13: "leave_group",
    14: "sync_group",
    15: "describe_groups",
    16: "list_groups",
    42: "delete_groups",
    47: "offset_delete",
}


def ms(value: int) -> Any:
    return i32Timedelta.parse(datetime.timedelta(milliseconds=value))


def request_module(api_key: int, version: int) -> ModuleType:
    return importlib.import_module(f"kio.schema.{API_MODULES[api_key]}.v{version}.request")


def make(cls: type[Any], **values: Any) -> Any:
    """Instantiate a kio entity from a superset of values (fields it lacks are dropped)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


class WireClient:
    def __init__(self, bootstrap: str, client_id: str = "wire") -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.client_id = client_id
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def _read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def send(self, request: Any) -> Any:
        self.correlation += 1
        api_key, version = int(request.__api_key__), int(request.__version__)
        header = RequestHeader(api_key, version, self.correlation, self.client_id)
        self.sock.sendall(encode_request(header, request))
        (size,) = struct.unpack(">i", self._read_exact(4))
        frame = self._read_exact(size)
        (correlation,) = struct.unpack_from(">i", frame, 0)
        assert correlation == self.correlation
        schema = api_schema(api_key, version)
        offset = 4
        if schema.response_header_flexible:
            assert frame[offset] == 0, "unexpected tagged fields in the response header"
            offset += 1
        response, consumed = entity_reader(schema.response_type)(frame, offset)
        assert offset + consumed == len(frame), "trailing bytes after the response"
        return response
