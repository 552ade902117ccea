"""The Kafka clients a runner owns: an admin per lane thread, one producer per settings."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from desktop.services.admin import ClusterAdmin
from desktop.services.cancel import NEVER, CancelToken
from desktop.services.produce import FormProducer, ProducerSettings

AdminFactory = Callable[[str], ClusterAdmin]  # the lane's name, for the client id
ProducerFactory = Callable[[ProducerSettings], FormProducer]


class ProducerPool:
    """One long-lived producer per settings, shared by a cluster's jobs (librdkafka producers are
    thread-safe). A producer whose job was abandoned is discarded; the next job gets a new one."""

    def __init__(self, factory: ProducerFactory | None) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._producers: dict[ProducerSettings, FormProducer] = {}
        self._closed = False

    def get(self, settings: ProducerSettings) -> FormProducer:
        if self._factory is None:
            raise RuntimeError("this runner has no cluster to produce to")
        with self._lock:
            if self._closed:
                raise RuntimeError("the cluster tab is closing")
            producer = self._producers.get(settings)
            if producer is None:
                producer = self._producers[settings] = self._factory(settings)
            return producer

    def discard(self, producers: list[FormProducer]) -> None:
        with self._lock:
            for settings, p in list(self._producers.items()):
                if p in producers:
                    del self._producers[settings]

    def close(self) -> None:
        """Flush and drop every producer (on a worker thread: a flush may wait)."""
        with self._lock:
            self._closed = True
            producers, self._producers = list(self._producers.values()), {}
        for p in producers:
            with contextlib.suppress(Exception):
                p.close()


class Clients:
    """One lane thread's clients: its admin (built on first use) and the runner's producers.

    Thread-confined: only the lane thread that made it touches it, so abandoning the thread
    abandons its handles with it."""

    def __init__(
        self, role: str, admin_factory: AdminFactory | None, producers: ProducerPool
    ) -> None:
        self.role = role
        self._admin_factory = admin_factory
        self._admin: ClusterAdmin | None = None
        self._pool = producers
        self._token: CancelToken = NEVER
        self.used: list[FormProducer] = []
        self.broken = False  # abandoned: close after the running job returns, never reuse

    def bind(self, token: CancelToken) -> None:
        self._token = token
        self.used = []
        if self._admin is not None:
            self._admin.token = token

    @property
    def admin(self) -> ClusterAdmin:
        if self._admin is None:
            if self._admin_factory is None:
                raise RuntimeError("this runner has no cluster to administer")
            self._admin = self._admin_factory(self.role)
            self._admin.token = self._token
        return self._admin

    def producer(self, settings: ProducerSettings) -> FormProducer:
        p = self._pool.get(settings)
        self.used.append(p)
        return p

    def abandon(self) -> None:
        """This thread's handles are suspect (a job hung on them): never reuse them."""
        self.broken = True
        self._pool.discard(self.used)

    def close(self) -> None:
        """On the lane thread: drop the admin (librdkafka's destroy may wait for its threads)
        and close the producers an abandoned job used; the next job starts afresh."""
        self._admin = None
        for p in self.used if self.broken else []:
            with contextlib.suppress(Exception):
                p.close()
        self.used = []
        self.broken = False
