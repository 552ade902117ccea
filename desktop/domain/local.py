"""The app's local broker and local cluster as the app sees them: nodes, pids and states."""

from __future__ import annotations

from dataclasses import dataclass, field

CONTROLLER_ID = 100  # as topicscope-broker --brokers numbers its nodes (brokers from 101)


# the keyring entry (a profile name) of the local broker's sign-in password
LOCAL_SIGN_IN_SECRET = "local broker sign-in"


@dataclass(frozen=True)
class LocalSignIn:
    """The user the local broker requires (SASL/SCRAM-SHA-512); the password only in memory."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class LocalNode:
    """One node of a local cluster as DIR/cluster.json lists it, with whether its pid lives."""

    id: int
    host: str
    port: int
    pid: int | None
    state: str  # starting, active, fenced or stopped (the cluster's word)
    alive: bool  # its process exists now (a node killed -9 is listed until its launcher notices)

    @property
    def is_controller(self) -> bool:
        return self.id == CONTROLLER_ID

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def shown_state(self) -> str:
        """What the user reads: the process first, then the cluster's word for it."""
        if not self.alive:
            return "stopped"
        return self.state


@dataclass(frozen=True)
class LocalClusterInfo:
    bootstrap: str  # every broker's address, comma-separated
    data_dir: str
    nodes: tuple[LocalNode, ...]

    def node(self, node_id: int) -> LocalNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @property
    def brokers(self) -> tuple[LocalNode, ...]:
        return tuple(n for n in self.nodes if not n.is_controller)
