"""The transaction protocol version this broker finalizes (Kafka's transaction.version feature).

Level 2 is transactions v2 (KIP-890 part 2): Produce v12 adds a partition to its transaction
implicitly, TxnOffsetCommit v5 adds the group's offsets partition, and every EndTxn (v5) bumps the
producer epoch, returning the new producer id and epoch. Clients take the finalized level in
ApiVersions as leave to speak it, so it is one switch for the whole broker: 0 keeps every
client on transactions v1 (the versions above v1's are then not advertised either).
"""

from __future__ import annotations

FINALIZED_LEVEL = 2
TV2 = 2
# the request versions that speak transactions v2 (Kafka's ApiKeys at transaction.version 2)
PRODUCE_TV2 = 12
END_TXN_TV2 = 5
TXN_OFFSET_COMMIT_TV2 = 5
# WriteTxnMarkers v2 names each marker's transaction version (KIP-1228), so a leader can ask a
# TV2 marker for a bumped epoch; broker to broker, so offered whatever the finalized level
WRITE_TXN_MARKERS_TV = 2


def tv2_enabled() -> bool:
    """Whether the broker advertises, and its coordinator runs, transactions v2."""
    return FINALIZED_LEVEL >= TV2


def end_txn_version(request_version: int) -> int:
    """The client's transaction version as Kafka infers it from EndTxn's request version."""
    return TV2 if request_version >= END_TXN_TV2 else 0
