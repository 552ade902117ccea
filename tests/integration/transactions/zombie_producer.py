"""A transactional producer left in the middle of a transaction, for tests to kill -9.

Usage: python -m tests.integration.transactions.zombie_producer BOOTSTRAP TOPIC TXN_ID TIMEOUT_MS
Prints "open" once its records are on the broker and its transaction is open, then waits.
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import Producer


def main() -> None:
    bootstrap, topic, transactional_id, timeout_ms = sys.argv[1:5]
    prod = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": int(timeout_ms),
            "message.timeout.ms": int(timeout_ms),
        }
    )
    prod.init_transactions(30)
    prod.begin_transaction()
    for i in range(3):
        prod.produce(topic, value=b"zombie-%d" % i)
    if prod.flush(30) != 0:
        sys.exit("records not delivered")
    print("open", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main()
