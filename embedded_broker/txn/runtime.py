"""The broker's transaction coordinator: loaded on first use (or at start when
``__transaction_state`` exists, so open transactions time out and prepared ones complete).
A local-cluster broker's coordinator starts with the broker and serves the transactional ids
of the __transaction_state partitions it leads (txn.leadership)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from embedded_broker.cluster_file import CLUSTER_FILE
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.state import BrokerState

from .coordinator import TransactionCoordinator
from .group_offsets import follow as follow_offsets
from .leadership import TxnLeadership
from .metadata import TRANSACTION_STATE_TOPIC

EXTENSION_KEY = "txn_coordinator"
_LOADED_KEY = "txn_coordinator_loaded"
LINK_POLL_S = 0.05


class TxnCoordinatorUnavailableError(Exception):
    """This broker has no transaction coordinator."""


def available(state: BrokerState) -> bool:
    """Every broker coordinates transactions: a single node all of them, a cluster broker
    those of the __transaction_state partitions it leads."""
    del state
    return True


async def coordinator(state: BrokerState) -> TransactionCoordinator:
    """The coordinator, loading it (creating __transaction_state) on first use.

    Raises TxnCoordinatorUnavailableError where there is none."""
    if not available(state):
        raise TxnCoordinatorUnavailableError
    loading = state.extensions.get(EXTENSION_KEY)
    if not isinstance(loading, asyncio.Future):
        loading = asyncio.ensure_future(_load(state))
        state.extensions[EXTENSION_KEY] = loading
    coord: TransactionCoordinator = await asyncio.shield(loading)
    return coord


def loaded(state: BrokerState) -> TransactionCoordinator | None:
    """The coordinator if it is loaded (the produce path checks transactions with it)."""
    coord = state.extensions.get(_LOADED_KEY)
    return coord if isinstance(coord, TransactionCoordinator) else None


def _cluster_node(state: BrokerState) -> bool:
    """Whether this broker is a node of a local cluster (its data directory sits in the
    cluster's), known before its link to the controller is made."""
    return state.data_dir is not None and (Path(state.data_dir).parent / CLUSTER_FILE).exists()


async def _load(state: BrokerState) -> TransactionCoordinator:
    while cluster_link(state) is None and _cluster_node(state):
        # a request that came in before the broker's link to its controller was made: a
        # cluster broker never coordinates as a single node (it holds replicas, not leaders)
        await asyncio.sleep(LINK_POLL_S)
    if cluster_link(state) is not None:
        coord = TransactionCoordinator(state, TxnLeadership(state))
        coord.attach_cluster()
        # the group coordinator's side: transactional offsets read back on leadership
        follow_offsets(state)
    else:
        coord = TransactionCoordinator(state)
        await coord.load()
    state.extensions[_LOADED_KEY] = coord
    state.spawn(coord.run_sweeps(), "transaction-sweeps")
    return coord


def start_transaction_coordinator(state: BrokerState) -> None:
    """Load the coordinator now if this broker ever had transactions (a cluster broker starts
    its own once linked to its controller)."""
    if TRANSACTION_STATE_TOPIC in state.topics and not _cluster_node(state):
        state.spawn(coordinator(state), "transaction-coordinator-load")
