"""Authorization of every API, as Kafka's handlers do it: the one table of checks, and helpers.

``CHECKS`` says which operation each API checks on which resource type. The guards in
``authz_guards`` apply it around the handlers (a refused part of a request never reaches the
handler); Produce and Fetch, whose responses are encoded on the hot path, ask
``refused_topics`` / ``fetch_refused`` themselves. Without an authorizer
(``authorizer.class.name`` empty) nothing is checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.security.acl import CLUSTER_NAME, Operation, ResourceType
from embedded_broker.security.authorizer import AUTHORIZER_KEY, Authorizer
from embedded_broker.state import BrokerState

from .base import RequestContext
from .topic_ids import topic_name

TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
TXN = ResourceType.TRANSACTIONAL_ID
Op = Operation

# api key -> {resource type: the operation Kafka's handler checks on it}
CHECKS: dict[int, dict[ResourceType, Operation]] = {
    0: {TOPIC: Op.WRITE, TXN: Op.WRITE},  # Produce
    1: {TOPIC: Op.READ, CLUSTER: Op.CLUSTER_ACTION},  # Fetch (a follower: ClusterAction)
    2: {TOPIC: Op.DESCRIBE},  # ListOffsets
    3: {TOPIC: Op.DESCRIBE},  # Metadata (auto-creation: Create, as CreateTopics)
    8: {GROUP: Op.READ, TOPIC: Op.READ},  # OffsetCommit
    9: {GROUP: Op.DESCRIBE, TOPIC: Op.DESCRIBE},  # OffsetFetch
    10: {GROUP: Op.DESCRIBE, TXN: Op.DESCRIBE},  # FindCoordinator
    11: {GROUP: Op.READ},  # JoinGroup
    12: {GROUP: Op.READ},  # Heartbeat
    13: {GROUP: Op.READ},  # LeaveGroup
    14: {GROUP: Op.READ},  # SyncGroup
    15: {GROUP: Op.DESCRIBE},  # DescribeGroups
    16: {CLUSTER: Op.DESCRIBE, GROUP: Op.DESCRIBE},  # ListGroups (cluster, else per group)
    17: {},  # SaslHandshake
    18: {},  # ApiVersions
    19: {CLUSTER: Op.CREATE, TOPIC: Op.CREATE},  # CreateTopics (either)
    20: {TOPIC: Op.DELETE},  # DeleteTopics
    21: {TOPIC: Op.DELETE},  # DeleteRecords
    22: {TXN: Op.WRITE, CLUSTER: Op.IDEMPOTENT_WRITE},  # InitProducerId (or Write on a topic)
    23: {TOPIC: Op.DESCRIBE, CLUSTER: Op.CLUSTER_ACTION},  # OffsetForLeaderEpoch
    24: {TXN: Op.WRITE, TOPIC: Op.WRITE, CLUSTER: Op.CLUSTER_ACTION},  # AddPartitionsToTxn (v4)
    25: {TXN: Op.WRITE, GROUP: Op.READ},  # AddOffsetsToTxn
    26: {TXN: Op.WRITE},  # EndTxn
    27: {CLUSTER: Op.CLUSTER_ACTION},  # WriteTxnMarkers
    28: {TXN: Op.WRITE, GROUP: Op.READ, TOPIC: Op.READ},  # TxnOffsetCommit
    29: {CLUSTER: Op.DESCRIBE},  # DescribeAcls
    30: {CLUSTER: Op.ALTER},  # CreateAcls
    31: {CLUSTER: Op.ALTER},  # DeleteAcls
    32: {TOPIC: Op.DESCRIBE_CONFIGS, CLUSTER: Op.DESCRIBE_CONFIGS},  # DescribeConfigs
    33: {TOPIC: Op.ALTER_CONFIGS, CLUSTER: Op.ALTER_CONFIGS},  # AlterConfigs
    34: {CLUSTER: Op.ALTER},  # AlterReplicaLogDirs
    35: {CLUSTER: Op.DESCRIBE},  # DescribeLogDirs
    36: {},  # SaslAuthenticate
    37: {TOPIC: Op.ALTER},  # CreatePartitions
    42: {GROUP: Op.DELETE},  # DeleteGroups
    43: {CLUSTER: Op.ALTER},  # ElectLeaders
    44: {TOPIC: Op.ALTER_CONFIGS, CLUSTER: Op.ALTER_CONFIGS},  # IncrementalAlterConfigs
    45: {CLUSTER: Op.ALTER},  # AlterPartitionReassignments
    46: {CLUSTER: Op.DESCRIBE},  # ListPartitionReassignments
    47: {GROUP: Op.DELETE, TOPIC: Op.READ},  # OffsetDelete
    48: {CLUSTER: Op.DESCRIBE_CONFIGS},  # DescribeClientQuotas
    50: {CLUSTER: Op.DESCRIBE},  # DescribeUserScramCredentials
    51: {CLUSTER: Op.ALTER},  # AlterUserScramCredentials
    55: {CLUSTER: Op.DESCRIBE},  # DescribeQuorum
    60: {},  # DescribeCluster (no check, as in Kafka)
    61: {TOPIC: Op.READ},  # DescribeProducers
    65: {TXN: Op.DESCRIBE},  # DescribeTransactions
    66: {TXN: Op.DESCRIBE},  # ListTransactions (lists only what may be described)
    68: {GROUP: Op.READ, TOPIC: Op.DESCRIBE},  # ConsumerGroupHeartbeat
    69: {GROUP: Op.DESCRIBE},  # ConsumerGroupDescribe
    74: {CLUSTER: Op.DESCRIBE_CONFIGS},  # ListConfigResources
    75: {TOPIC: Op.DESCRIBE},  # DescribeTopicPartitions
    # share groups (KIP-932): checked in the handlers (share_groups, share_fetch, share_admin)
    76: {GROUP: Op.READ, TOPIC: Op.DESCRIBE},  # ShareGroupHeartbeat
    77: {GROUP: Op.DESCRIBE},  # ShareGroupDescribe
    78: {GROUP: Op.READ, TOPIC: Op.READ},  # ShareFetch
    79: {GROUP: Op.READ, TOPIC: Op.READ},  # ShareAcknowledge
    # the share coordinator's APIs, sent by share-partition leaders (handlers/share_state)
    83: {CLUSTER: Op.CLUSTER_ACTION},  # InitializeShareGroupState
    84: {CLUSTER: Op.CLUSTER_ACTION},  # ReadShareGroupState
    85: {CLUSTER: Op.CLUSTER_ACTION},  # WriteShareGroupState
    86: {CLUSTER: Op.CLUSTER_ACTION},  # DeleteShareGroupState
    87: {CLUSTER: Op.CLUSTER_ACTION},  # ReadShareGroupStateSummary
    90: {GROUP: Op.DESCRIBE, TOPIC: Op.DESCRIBE},  # DescribeShareGroupOffsets
    91: {GROUP: Op.READ, TOPIC: Op.READ},  # AlterShareGroupOffsets
    92: {GROUP: Op.DELETE, TOPIC: Op.READ},  # DeleteShareGroupOffsets
}

TOPIC_DENIED = ErrorCode.topic_authorization_failed
GROUP_DENIED = ErrorCode.group_authorization_failed
CLUSTER_DENIED = ErrorCode.cluster_authorization_failed
TXN_DENIED = ErrorCode.transactional_id_authorization_failed

# Kafka's supported operations per resource type: what an authorized-operations bit field
# (1 << operation code) may hold.
SUPPORTED_OPS: dict[ResourceType, tuple[Operation, ...]] = {
    TOPIC: (
        Op.READ,
        Op.WRITE,
        Op.CREATE,
        Op.DESCRIBE,
        Op.DELETE,
        Op.ALTER,
        Op.DESCRIBE_CONFIGS,
        Op.ALTER_CONFIGS,
    ),
    GROUP: (Op.READ, Op.DESCRIBE, Op.DELETE),
    CLUSTER: (
        Op.CREATE,
        Op.CLUSTER_ACTION,
        Op.DESCRIBE_CONFIGS,
        Op.ALTER_CONFIGS,
        Op.IDEMPOTENT_WRITE,
        Op.ALTER,
        Op.DESCRIBE,
    ),
}


def authorizer(state: BrokerState) -> Authorizer | None:
    found = state.extensions.get(AUTHORIZER_KEY)
    return found if isinstance(found, Authorizer) else None


def allowed(
    ctx: RequestContext,
    state: BrokerState,
    resource_type: ResourceType,
    name: str = CLUSTER_NAME,
    operation: Operation | None = None,
) -> bool:
    """Whether this request's principal may do the table's operation (or ``operation``)."""
    az = authorizer(state)
    if az is None:
        return True
    op = CHECKS[ctx.api_key][resource_type] if operation is None else operation
    return az.authorize(ctx.principal, ctx.client_host, op, resource_type, name)


def refused_topics(ctx: RequestContext, state: BrokerState, names: Iterable[str]) -> set[str]:
    """The topics this request may not touch (empty without an authorizer)."""
    if authorizer(state) is None:
        return set()
    return {name for name in set(names) if not allowed(ctx, state, TOPIC, name)}


def fetch_refused(ctx: RequestContext, state: BrokerState, request: Any) -> set[str]:
    """Fetch: a follower needs ClusterAction (else every topic is refused), a consumer Read."""
    if authorizer(state) is None:
        return set()
    # v13+ names topics by id; an id this broker does not know is answered UNKNOWN_TOPIC_ID
    found = (topic_name(state, t, "topic") for t in request.topics)
    names = {name for name in found if name is not None}
    replica_id = getattr(getattr(request, "replica_state", None) or request, "replica_id", -1)
    if replica_id >= 0:
        return set() if allowed(ctx, state, CLUSTER) else names
    return refused_topics(ctx, state, names)


def transactional_id_refused(ctx: RequestContext, state: BrokerState, txn_id: str | None) -> bool:
    return txn_id is not None and not allowed(ctx, state, TXN, txn_id)


def authorized_ops(
    ctx: RequestContext, state: BrokerState, resource_type: ResourceType, name: str
) -> int:
    """The bit field of the operations this principal may do on the resource."""
    bits = 0
    for op in SUPPORTED_OPS[resource_type]:
        if allowed(ctx, state, resource_type, name, op):
            bits |= 1 << op
    return bits


def can_create(ctx: RequestContext, state: BrokerState, topic: str) -> bool:
    return allowed(ctx, state, CLUSTER, operation=Op.CREATE) or allowed(
        ctx, state, TOPIC, topic, Op.CREATE
    )
