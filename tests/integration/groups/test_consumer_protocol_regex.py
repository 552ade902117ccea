"""Regex subscriptions of the consumer group protocol (resolved by the broker, KIP-848): a
consumer subscribed to a pattern gets every matching topic, and a matching topic created later."""

from __future__ import annotations

from .clients import Poller, create_topic, unique
from .test_consumer_protocol import STEP_TIMEOUT_S, Tracked


def test_pattern_subscription_follows_matching_topics(bootstrap: str) -> None:
    prefix = unique("kip848rx")
    for suffix in ("a", "b"):
        create_topic(bootstrap, f"{prefix}-{suffix}", 2)
    create_topic(bootstrap, f"other-{prefix}", 2)
    member = Tracked(bootstrap, unique("kip848rx-group"), "rx")
    member.consumer.subscribe([f"^{prefix}-.*"])
    try:
        poller = Poller([member.consumer])

        def topics() -> set[tuple[str, int]]:
            return {(p.topic, p.partition) for p in member.consumer.assignment()}

        want = {(f"{prefix}-{s}", p) for s in ("a", "b") for p in range(2)}
        poller.until(lambda: topics() == want, STEP_TIMEOUT_S, "the two matching topics")
        create_topic(bootstrap, f"{prefix}-c", 1)
        want.add((f"{prefix}-c", 0))
        poller.until(lambda: topics() == want, STEP_TIMEOUT_S, "the new matching topic")
    finally:
        member.consumer.close()
