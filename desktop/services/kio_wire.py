"""Kafka requests that no client library here offers (ConsumerGroupDescribe, ShareGroupDescribe,
DescribeShareGroupOffsets), encoded and decoded by kio and carried by kafka-python's connections,
which already speak TLS and SASL, negotiate versions and find coordinators. Blocking; no Qt.
kio and kafka-python are imported on first use (together about a second): in the groups helper
process at its first listing, in the app only when a group's detail needs them."""

from __future__ import annotations

import io
import itertools
import struct
import threading
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.cancel import CancelToken, JobCancelled

if TYPE_CHECKING:
    from desktop.services.kafka_python_stop import Interruptible

_HEAD = struct.Struct(">hhi")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
# a coordinator that moved or is still loading: find it again and ask once more
COORDINATOR_MOVED = {14, 15, 16}
_ids = itertools.count(1)


class WireUnavailableError(Exception):
    """The broker or the profile's settings rule these requests out (the text says why)."""


def _skip_tagged_fields(buf: IO[bytes]) -> None:
    def varint() -> int:
        shift = value = 0
        while True:
            byte = buf.read(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    for _ in range(varint()):
        varint()  # the tag
        buf.read(varint())


class _Header:
    """The request header as kafka-python's parser reads it back when the answer arrives."""

    def __init__(self, correlation_id: int, response: _ResponseType) -> None:
        self.correlation_id = correlation_id
        self._response = response

    def get_response_class(self) -> _ResponseType:
        return self._response


class _ResponseType:
    """Decodes one answer with kio (kafka-python calls parse_header, then decode)."""

    def __init__(self, schema: type[Any]) -> None:
        self.schema = schema

    def parse_header(self, buf: IO[bytes]) -> _Header:
        (correlation_id,) = _I32.unpack(buf.read(4))
        if self.schema.__flexible__:
            _skip_tagged_fields(buf)
        return _Header(correlation_id, self)

    def decode(self, buf: IO[bytes]) -> Any:
        data = buf.read()
        from kio.serial import entity_reader

        value, _size = entity_reader(self.schema)(data, 0)
        return value


class KioRequest:
    """A kio request object dressed as the kafka-python request its connection sends."""

    def __init__(self, body: Any) -> None:
        self.body = body
        self.API_KEY = int(body.__api_key__)
        self.API_VERSION = int(body.__version__)
        from kio.index import load_response_schema

        self.response_type = _ResponseType(load_response_schema(self.API_KEY, self.API_VERSION))
        self.header: _Header | None = None
        self._client_id = ""

    def __repr__(self) -> str:
        return f"KioRequest({type(self.body).__name__} v{self.API_VERSION})"

    def expect_response(self) -> bool:
        return True

    def with_header(self, correlation_id: int, client_id: str) -> None:
        self.header = _Header(correlation_id, self.response_type)
        self._client_id = client_id

    def encode(self, framed: bool = True, header: bool = True) -> bytes:
        assert self.header is not None, "kafka-python sets the header before encoding"
        out = io.BytesIO()
        if header:
            out.write(_HEAD.pack(self.API_KEY, self.API_VERSION, self.header.correlation_id))
            raw = self._client_id.encode()
            out.write(_I16.pack(len(raw)) + raw)
            if self.body.__flexible__:
                out.write(b"\x00")  # request header v2: no tagged fields
        from kio.serial import entity_writer

        entity_writer(type(self.body))(out, self.body)
        data = out.getvalue()
        return _I32.pack(len(data)) + data if framed else data


def pick_version(api_key: int, broker: tuple[int, int] | None, known: range) -> int:
    """The highest version of `api_key` both the broker and this code speak."""
    if broker is None:
        raise WireUnavailableError(f"the broker does not offer API {api_key}")
    usable = [v for v in known if broker[0] <= v <= broker[1]]
    if not usable:
        raise WireUnavailableError(
            f"the broker offers API {api_key} versions {broker[0]} to {broker[1]}; "
            f"Topicscope reads {known.start} to {known.stop - 1}"
        )
    return max(usable)


def request_type(api_key: int, version: int) -> type[Any]:
    from kio.index import load_request_schema

    cls: type[Any] = load_request_schema(api_key, version)
    return cls


def wire_config(profile: ClusterProfile, creds: Credentials, timeout_s: float) -> dict[str, Any]:
    """kafka-python's settings for the profile, or why it cannot carry them."""
    from desktop.services.log_dirs import SizesUnavailableError, kafka_python_config

    try:
        conf = kafka_python_config(profile, creds, timeout_s)
    except SizesUnavailableError as exc:
        raise WireUnavailableError(str(exc).replace("Sizes on disk need", "This needs")) from exc
    conf["client_id"] = f"topicscope-groups-{next(_ids)}"  # names its IO thread: one per wire
    return conf


class KioWire:
    """One kafka-python admin connection set, used only to carry kio requests."""

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        timeout_s: float,
        made: Callable[[Interruptible], None] = lambda _stop: None,
    ) -> None:
        conf = wire_config(profile, creds, timeout_s)
        # kafka-python takes about a second to import: only once a screen needs these requests
        from kafka.admin import KafkaAdminClient

        from desktop.services.kafka_python_stop import Interruptible

        self.timeout_ms = int(timeout_s * 1000)
        self.stop = Interruptible(str(conf["client_id"]))
        conf["kafka_client"] = self.stop.client_factory
        made(self.stop)  # from here on, a cancel cuts the connecting short
        try:
            self.client = KafkaAdminClient(**conf)
        except Exception as exc:
            self.stop.close(None)  # its IO thread would otherwise outlive the failure
            if self.stop.interrupted:
                raise JobCancelled from None
            raise WireUnavailableError(f"cannot connect: {exc or type(exc).__name__}") from exc

    def close(self) -> None:
        self.stop.close(self.client.close)

    def broker_versions(self, api_key: int) -> tuple[int, int] | None:
        versions = self.client._manager.broker_version_data.api_versions or {}
        found = versions.get(api_key)
        return None if found is None else (int(found[0]), int(found[1]))

    def version(self, api_key: int, known: range) -> int:
        return pick_version(api_key, self.broker_versions(api_key), known)

    def send(self, body: Any, node_id: int | None = None) -> Any:
        """Send one request (to `node_id`, or any broker) and wait for the answer."""

        async def call() -> Any:
            return await self.client._manager.send(
                KioRequest(body), node_id=node_id, request_timeout_ms=self.timeout_ms
            )

        return self.client._manager.run(call)

    def coordinator(self, group_id: str) -> int:
        """The node coordinating `group_id` (FindCoordinator key type 0, cached)."""
        return int(self.client._manager.run(self.client._find_coordinator_id, group_id))

    def forget_coordinator(self, group_id: str) -> None:
        coordinators = self.client._manager.cluster._coordinators
        for key in [k for k in coordinators if k[1] == group_id]:
            del coordinators[key]

    def to_coordinator(self, group_id: str, body: Any, error_of: Any) -> Any:
        """Send to the group's coordinator; once more after finding it again if it moved."""
        response = self.send(body, self.coordinator(group_id))
        if int(error_of(response)) in COORDINATOR_MOVED:
            self.forget_coordinator(group_id)
            response = self.send(body, self.coordinator(group_id))
        return response

    def list_groups(self) -> list[dict[str, Any]]:
        """Every group of every broker, with its type where the broker reports one (v5)."""
        groups: list[dict[str, Any]] = self.client.list_groups()
        return groups


class WireHolder:
    """A KioWire made on first use and kept; a failure to connect is retried on the next use,
    settings it can never carry (a PKCS#12 certificate) are remembered."""

    def __init__(self, profile: ClusterProfile, creds: Credentials, timeout_s: float) -> None:
        self.profile = profile
        self.creds = creds
        self.timeout_s = timeout_s
        self.wire: KioWire | None = None
        self.refused = ""
        self._lock = threading.Lock()
        self._stops: list[Interruptible] = []  # the wire's, or the one being connected
        self._tokens: dict[int, CancelToken] = {}  # by thread: the job using the wire there

    def interrupt_on(self, token: CancelToken) -> Callable[[], None]:
        """While a job uses the wire: its cancel (Cancel, deadline, tab closed) cuts the wire's
        blocked calls short at once, and the next use connects afresh. Returns the unhook."""
        me = threading.get_ident()
        self._tokens[me] = token
        unhook = token.on_cancel(self._interrupt)

        def done() -> None:
            unhook()
            self._tokens.pop(me, None)

        return done

    def _interrupt(self) -> None:
        with self._lock:
            stops = list(self._stops)
        for stop in stops:
            stop.interrupt()

    def _made(self, stop: Interruptible) -> None:
        with self._lock:
            self._stops = [stop]

    def get(self) -> KioWire:
        if self.refused:
            raise WireUnavailableError(self.refused)
        token = self._tokens.get(threading.get_ident())
        if token is not None and token.cancelled:
            raise JobCancelled  # never connect again for a job that is gone
        if self.wire is not None and self.wire.stop.interrupted:
            self.drop()  # cut short under an earlier job: its IO loop is gone
        if self.wire is None:
            try:
                wire_config(self.profile, self.creds, self.timeout_s)
            except WireUnavailableError as exc:
                self.refused = str(exc)
                raise
            self.wire = KioWire(self.profile, self.creds, self.timeout_s, self._made)
        return self.wire

    def drop(self) -> None:
        """Close the connections (after a failure, the next use connects afresh)."""
        wire, self.wire = self.wire, None
        if wire is not None:
            wire.close()
