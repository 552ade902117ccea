"""The controller process: a small Kafka-protocol server for brokers, over the metadata log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embedded_broker.cluster_file import CONTROLLER_ID, find_node, set_node, update_cluster
from embedded_broker.config import BrokerConfig
from embedded_broker.protocol.codec import decode_request, encode_response
from embedded_broker.protocol.errors import ProtocolError, UnsupportedApiError

from . import acls, admin, elections, lifecycle, producer_ids, reassign, scram
from .describe_quorum import describe_quorum
from .quorum import Controller

log = logging.getLogger(__name__)

_SIZE = struct.Struct(">i")
MAX_FRAME = 100 * 1024 * 1024


class ControllerServer:
    """Serves the controller APIs on host:port until stopped."""

    def __init__(
        self, cluster_dir: Path | None, data_dir: Path | None, cluster_id: str, config: BrokerConfig
    ) -> None:
        self.cluster_dir = cluster_dir
        self.cluster_id = cluster_id
        self.config = config
        self.controller = Controller(
            data_dir,
            session_timeout_ms=config.get_int("broker.session.timeout.ms"),
            unclean_election=self._unclean,
            on_change=self._publish,
        )
        self._server: asyncio.Server | None = None
        self.address = ("", 0)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._published: dict[int, tuple[str, int]] = {}
        self._serving: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def _unclean(self, topic: str) -> bool:
        value = self.controller.image.topic_configs(topic).get("unclean.leader.election.enable")
        if value is not None:
            return value == "true"
        return self.config.get_bool("unclean.leader.election.enable")

    def _publish(self) -> None:
        """Write each broker's state and broker epoch to cluster.json when they changed (a
        new epoch tells a broker's new process registered: the old one may still look active
        to a controller that restarted meanwhile)."""
        if self.cluster_dir is None:
            return
        states: dict[int, tuple[str, int]] = {}
        for b in self.controller.image.brokers.values():
            states[b.broker_id] = ("fenced" if b.fenced else "active", b.epoch)
        changed = {b: s for b, s in states.items() if self._published.get(b) != s}
        if not changed:
            return
        self._published = states

        def change(data: dict[str, Any]) -> None:
            # only what changed: a broker that stopped cleanly keeps its "stopped"
            for broker in data["brokers"]:
                if broker["id"] in changed:
                    broker["state"], broker["epoch"] = changed[broker["id"]]

        try:
            update_cluster(self.cluster_dir, change)
        except (OSError, RuntimeError) as exc:
            log.warning("Could not update cluster.json: %s", exc)

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        bound = int(self._server.sockets[0].getsockname()[1])
        self.address = (host, bound)
        loop = asyncio.get_running_loop()
        self._tasks.add(loop.create_task(self.controller.run_session_checks()))
        if self.config.get_bool("auto.leader.rebalance.enable"):
            interval = self.config.get_int("leader.imbalance.check.interval.seconds")
            self._tasks.add(
                loop.create_task(elections.run_auto_rebalance(self.controller, interval))
            )
        self._publish()
        log.info("Controller %d ready on %s:%d", CONTROLLER_ID, host, bound)
        return bound

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
        # end each connection from our side so its handler returns instead of being cancelled
        for writer in list(self._writers):
            writer.close()
        serving = [t for t in self._serving if not t.done()]
        if serving:
            await asyncio.wait(serving, timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readexactly(4)
                (size,) = _SIZE.unpack(head)
                if not 0 < size <= MAX_FRAME:
                    return
                frame = await reader.readexactly(size)
                header, request = decode_request(frame)
                response = await self.dispatch(header.api_key, request)
                if response is None:
                    return
                writer.write(encode_response(header.correlation_id, response))
                await writer.drain()
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            ProtocolError,
            UnsupportedApiError,
            RuntimeError,  # the transport was closed at shutdown
        ):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def dispatch(self, api_key: int, request: Any) -> Any:
        c = self.controller
        if api_key == 62:
            return await lifecycle.broker_registration(c, self.cluster_id, request)
        if api_key == 63:
            return await lifecycle.broker_heartbeat(c, request)
        if api_key == 56:
            return await lifecycle.alter_partition(c, request)
        if api_key == 1:
            return await lifecycle.fetch_metadata(c, request)
        if api_key == 19:
            return await admin.create_topics(c, self.config, request)
        if api_key == 20:
            return await admin.delete_topics(c, self.config, request)
        if api_key == 37:
            return await admin.create_partitions(c, self.config, request)
        if api_key == 33:
            return await admin.alter_configs(c, self.config, request)
        if api_key == 45:
            return await reassign.alter_partition_reassignments(c, request)
        if api_key == 46:
            return await reassign.list_partition_reassignments(c, request)
        if api_key == 43:
            return await elections.elect_leaders(c, request)
        if api_key == 44:
            return await admin.incremental_alter_configs(c, self.config, request)
        if api_key == 67:
            return await producer_ids.allocate_producer_ids(c, request)
        if api_key == 55:
            return describe_quorum(c, self.address, request)
        if api_key == 30:
            return await acls.create_acls(c, request)
        if api_key == 31:
            return await acls.delete_acls(c, request)
        if api_key == 51:
            return await scram.alter_user_scram_credentials(c, request)
        log.warning("The controller does not serve API key %d", api_key)
        return None


async def run_controller(
    cluster_dir: Path,
    stop: asyncio.Event,
    scram_users: Sequence[tuple[str, str, str, int]] = (),
) -> None:
    """Run node 100 of the cluster in ``cluster_dir`` until ``stop`` is set; ``scram_users``
    (--add-scram) are added to the metadata log before it says it is active."""
    from embedded_broker.cluster_file import node_dir, read_cluster

    data = read_cluster(cluster_dir)
    me = find_node(data, CONTROLLER_ID)
    config = BrokerConfig(data.get("settings", {}))
    data_dir = node_dir(cluster_dir, CONTROLLER_ID)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ControllerServer(cluster_dir, data_dir, data["cluster_id"], config)
    await server.start(me["host"], me["port"])
    await scram.add_users_at_start(server.controller, scram_users)
    set_node(cluster_dir, CONTROLLER_ID, state="active", pid=os.getpid())
    try:
        await stop.wait()
    finally:
        await server.stop()
        with contextlib.suppress(OSError, RuntimeError):
            set_node(cluster_dir, CONTROLLER_ID, state="stopped")
