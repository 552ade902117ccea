"""DIR/cluster.json: the controller and brokers of a local cluster, rewritten on every change."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .storage.index import write_atomically

CLUSTER_FILE = "cluster.json"
CONTROLLER_ID = 100
FIRST_BROKER_ID = 101


class ClusterFileError(RuntimeError):
    """cluster.json is missing or unreadable; the message says what to do."""


def node_dir(data_dir: Path, node_id: int) -> Path:
    return data_dir / ("controller" if node_id == CONTROLLER_ID else f"broker-{node_id}")


def read_cluster(data_dir: Path) -> dict[str, Any]:
    path = data_dir / CLUSTER_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ClusterFileError(
            f"{path} does not exist: {data_dir} holds no cluster. Start one with "
            f"topicscope-broker --brokers 3 --data-dir {data_dir}"
        ) from None
    except (OSError, ValueError) as exc:
        raise ClusterFileError(f"Could not read {path}: {exc}") from exc
    return data


def find_node(data: dict[str, Any], node_id: int) -> dict[str, Any]:
    """The entry of one node (the controller or a broker); ClusterFileError if unknown."""
    if data["controller"]["id"] == node_id:
        node: dict[str, Any] = data["controller"]
        return node
    for broker in data["brokers"]:
        if broker["id"] == node_id:
            found: dict[str, Any] = broker
            return found
    known = [data["controller"]["id"], *(b["id"] for b in data["brokers"])]
    raise ClusterFileError(f"This cluster has no node {node_id}; its nodes are {known}.")


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    # several processes rewrite the file; an advisory lock keeps their updates from crossing
    try:
        import fcntl
    except ImportError:  # Windows: updates are rare and each write is atomic anyway
        yield
        return
    with (data_dir / ".cluster.lock").open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def write_cluster(data_dir: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=1, sort_keys=True)
    write_atomically(data_dir / CLUSTER_FILE, text.encode("utf-8"))


def update_cluster(data_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Read, change and atomically rewrite cluster.json under a lock."""
    with _locked(data_dir):
        data = read_cluster(data_dir)
        change(data)
        write_cluster(data_dir, data)


def set_node(data_dir: Path, node_id: int, **values: Any) -> None:
    """Set fields (state, pid, ...) of one node's entry."""
    update_cluster(data_dir, lambda data: find_node(data, node_id).update(values))
