"""ACL test bodies for transactions, shared by the built-in broker and real Kafka."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AclOperation, ResourceType

from .acl_checks import AclTarget, allow, new_topic

TXN_TIMEOUT_S = 15.0


def _producer(target: AclTarget, txn_id: str) -> Producer:
    return Producer({**target.user, "transactional.id": txn_id, "transaction.timeout.ms": 10000})


def _error_code(caught: pytest.ExceptionInfo[KafkaException]) -> int:
    error: KafkaError = caught.value.args[0]
    return error.code()


def check_init_needs_write_on_the_transactional_id(target: AclTarget) -> None:
    txn_id = f"acl-txn-{uuid.uuid4().hex[:8]}"
    with pytest.raises(KafkaException) as caught:
        _producer(target, txn_id).init_transactions(TXN_TIMEOUT_S)
    assert _error_code(caught) == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    allow(target, ResourceType.TRANSACTIONAL_ID, txn_id, AclOperation.WRITE)
    _producer(target, txn_id).init_transactions(TXN_TIMEOUT_S)


def check_transaction_needs_topic_write_and_group_read(target: AclTarget) -> None:
    txn_id = f"acl-txn-{uuid.uuid4().hex[:8]}"
    allowed_topic, other_topic = new_topic(target), new_topic(target)
    group = f"acl-group-{uuid.uuid4().hex[:8]}"
    allow(target, ResourceType.TRANSACTIONAL_ID, txn_id, AclOperation.WRITE)
    allow(target, ResourceType.TOPIC, allowed_topic, AclOperation.WRITE)
    allow(target, ResourceType.TOPIC, other_topic, AclOperation.DESCRIBE)
    producer = _producer(target, txn_id)
    producer.init_transactions(TXN_TIMEOUT_S)

    # offsets for a group the user may Describe (FindCoordinator) but not Read: AddOffsetsToTxn
    # is refused
    allow(target, ResourceType.GROUP, group, AclOperation.DESCRIBE)
    producer.begin_transaction()
    producer.produce(allowed_topic, b"v")
    producer.flush(TXN_TIMEOUT_S)  # the partition is in the transaction before the offsets
    consumer_meta = _group_metadata(target, group)
    with pytest.raises(KafkaException) as caught:
        producer.send_offsets_to_transaction(
            [TopicPartition(allowed_topic, 0, 1)], consumer_meta, TXN_TIMEOUT_S
        )
    assert _error_code(caught) == KafkaError.GROUP_AUTHORIZATION_FAILED
    producer.abort_transaction(TXN_TIMEOUT_S)

    # a topic without Write: AddPartitionsToTxn is refused, the transaction can't commit
    producer.begin_transaction()
    producer.produce(other_topic, b"v")
    with pytest.raises(KafkaException) as caught:
        producer.commit_transaction(TXN_TIMEOUT_S)
    assert _error_code(caught) == KafkaError.TOPIC_AUTHORIZATION_FAILED
    producer.abort_transaction(TXN_TIMEOUT_S)

    # with every ACL in place the same transaction commits
    allow(target, ResourceType.GROUP, group, AclOperation.READ)
    allow(target, ResourceType.TOPIC, allowed_topic, AclOperation.READ)
    producer.begin_transaction()
    producer.produce(allowed_topic, b"v")
    producer.send_offsets_to_transaction(
        [TopicPartition(allowed_topic, 0, 1)], _group_metadata(target, group), TXN_TIMEOUT_S
    )
    producer.commit_transaction(TXN_TIMEOUT_S)


def _group_metadata(target: AclTarget, group: str) -> object:
    from confluent_kafka import Consumer

    consumer = Consumer({**target.user, "group.id": group})
    try:
        return consumer.consumer_group_metadata()
    finally:
        consumer.close()
