"""A TCP proxy in front of a broker that can hold back the responses to chosen Kafka requests.

The broker advertises the proxy's port, so every client connection (bootstrap and per-broker)
goes through it. Responses on a connection stay in order: holding one holds those behind it,
as a slow broker would."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable

LIST_OFFSETS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Frames:
    """Split a byte stream into Kafka frames (4-byte size prefix)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            (size,) = struct.unpack_from(">i", self.buf)
            if len(self.buf) < 4 + size:
                break
            out.append(bytes(self.buf[: 4 + size]))
            del self.buf[: 4 + size]
        return out


class SlowProxy:
    """`hold(api_key, seconds)` delays the responses to that request type until `release()`,
    or for `seconds`, whichever comes first."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.upstream: tuple[str, int] | None = None
        self.delay_s = 0.0
        self.api_keys: set[int] = set()
        self.held = 0  # responses being held right now
        self.connections = 0  # client connections accepted so far
        self.client_ids: list[str] = []
        self._release = threading.Event()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._threads = [threading.Thread(target=self._accept, name="proxy-accept", daemon=True)]
        self._threads[0].start()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def advertised(self) -> dict[str, str]:
        """Broker config that makes clients come back through the proxy."""
        return {"advertised.host.name": "127.0.0.1", "advertised.port": str(self.port)}

    def hold(self, api_key: int, seconds: float) -> None:
        self._release.clear()
        self.api_keys = {api_key}
        self.delay_s = seconds

    def release(self) -> None:
        self.delay_s = 0.0
        self.api_keys = set()
        self._release.set()

    def close(self) -> None:
        self._closed.set()
        self._release.set()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv()
                with contextlib.suppress(OSError):
                    s.close()
        self._server.close()
        for t in list(self._threads):
            t.join(5)

    # ---- threads -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            if self.upstream is None:
                client.close()
                continue
            try:
                broker = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            self.connections += 1
            with self._lock:
                self._sockets += [client, broker]
            asked: deque[int] = deque()
            for target, args in (
                (self._requests, (client, broker, asked)),
                (self._responses, (broker, client, asked)),
            ):
                t = threading.Thread(target=target, args=args, name="proxy-pump", daemon=True)
                self._threads.append(t)
                t.start()

    def _pump(self, src: socket.socket, on_frame: Callable[[bytes], None]) -> None:
        frames = _Frames()
        try:
            while not self._closed.is_set():
                data = src.recv(65536)
                if not data:
                    break
                for frame in frames.feed(data):
                    on_frame(frame)
        except OSError:
            pass

    def _requests(self, client: socket.socket, broker: socket.socket, asked: deque[int]) -> None:
        def forward(frame: bytes) -> None:
            api_key = struct.unpack_from(">h", frame, 4)[0]
            (id_len,) = struct.unpack_from(">h", frame, 12)
            if id_len > 0:
                self.client_ids.append(frame[14 : 14 + id_len].decode(errors="replace"))
            asked.append(api_key)
            broker.sendall(frame)

        self._pump(client, forward)
        for s in (client, broker):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _responses(self, broker: socket.socket, client: socket.socket, asked: deque[int]) -> None:
        def forward(frame: bytes) -> None:
            api_key = asked.popleft() if asked else -1
            if api_key in self.api_keys and self.delay_s > 0:
                with self._lock:
                    self.held += 1
                try:
                    self._release.wait(self.delay_s)
                finally:
                    with self._lock:
                        self.held -= 1
            client.sendall(frame)

        self._pump(broker, forward)
        for s in (client, broker):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
