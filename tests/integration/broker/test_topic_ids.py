"""Topic ids: Metadata by id (v12) and DeleteTopics by id (v6) over raw TCP."""

from __future__ import annotations

import datetime
import socket
import struct
import uuid

from kio.schema.delete_topics.v6 import request as del_req
from kio.schema.delete_topics.v6 import response as del_resp
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v12 import request as md_req
from kio.schema.metadata.v12 import response as md_resp
from kio.serial import entity_reader

from embedded_broker.protocol.codec import RequestHeader, encode_request
from tests.broker_fixtures import RunningBroker

from .clients import TIMEOUT_S, create_topic


def _call(broker: RunningBroker, api_key: int, version: int, request: object) -> bytes:
    with socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(encode_request(RequestHeader(api_key, version, 1, "ids"), request))
        size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
        return sock.recv(size, socket.MSG_WAITALL)


def _metadata(
    broker: RunningBroker, topics: tuple[md_req.MetadataRequestTopic, ...] | None
) -> md_resp.MetadataResponse:
    data = _call(
        broker,
        3,
        12,
        md_req.MetadataRequest(
            topics=topics,
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        ),
    )
    response, _ = entity_reader(md_resp.MetadataResponse)(data, 5)
    return response


def test_metadata_and_delete_by_topic_id(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "by-id", partitions=2)
    everything = _metadata(builtin_broker, None)
    (topic,) = [t for t in everything.topics if t.name == "by-id"]
    assert topic.topic_id is not None and topic.topic_id != uuid.UUID(int=0)
    assert everything.cluster_id and everything.controller_id == everything.brokers[0].node_id

    found = _metadata(
        builtin_broker, (md_req.MetadataRequestTopic(topic_id=topic.topic_id, name=None),)
    )
    assert [(t.name, len(t.partitions)) for t in found.topics] == [("by-id", 2)]

    unknown = uuid.uuid4()
    missing = _metadata(builtin_broker, (md_req.MetadataRequestTopic(topic_id=unknown, name=None),))
    assert missing.topics[0].error_code == ErrorCode.unknown_topic_id

    data = _call(
        builtin_broker,
        20,
        6,
        del_req.DeleteTopicsRequest(
            topics=(del_req.DeleteTopicState(name=None, topic_id=topic.topic_id),),
            timeout=datetime.timedelta(seconds=30),  # type: ignore[arg-type]
        ),
    )
    deleted, _ = entity_reader(del_resp.DeleteTopicsResponse)(data, 5)
    assert deleted.responses[0].error_code == ErrorCode.none
    assert deleted.responses[0].name == "by-id"
    assert "by-id" not in {t.name for t in _metadata(builtin_broker, None).topics}
