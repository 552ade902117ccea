"""DescribeQuorum at the controller: node 100 is the quorum's only voter and leader; the
brokers, which fetch the metadata log from it, are its observers."""

from __future__ import annotations

from typing import Any

from embedded_broker.cluster_file import CONTROLLER_ID
from embedded_broker.handlers.quorum_wire import Quorum, Replica, describe, now_ms

from .quorum import Controller

LISTENER = "CONTROLLER"


def describe_quorum(controller: Controller, address: tuple[str, int], request: Any) -> Any:
    end = controller.log.end_offset
    now = now_ms()
    observers = [
        Replica(broker, p.log_end_offset, p.last_fetch_ms, p.last_caught_up_ms)
        for broker, p in sorted(controller.followers.progress.items())
        if broker in controller.image.brokers
    ]
    quorum = Quorum(
        leader_id=CONTROLLER_ID,
        high_watermark=end,
        voters=(Replica(CONTROLLER_ID, end, now, now),),
        observers=observers,
        endpoints={CONTROLLER_ID: (LISTENER, *address)},
    )
    return describe(request, quorum)
