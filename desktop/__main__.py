"""`python -m desktop` and the `topicscope` command (also the PyInstaller entry point)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="topicscope", description="Topicscope: a desktop explorer for Apache Kafka."
    )
    parser.add_argument("--local", action="store_true", help="start the built-in broker")
    parser.add_argument(
        "--local-port",
        type=int,
        default=None,
        metavar="PORT",
        help="port for the built-in broker (default: 9092, or a free port when 9092 is taken)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data directory for the built-in broker (default: the platform data directory); "
        "the local cluster keeps its data next to it, in DIR-cluster",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start the built-in broker, connect, produce and read back; then the same through a "
        "3-broker local cluster with one broker killed (-9); then exit. With --local-port P the "
        "broker listens on P and the cluster on P+1 onwards; with --data-dir DIR the broker keeps "
        "its data in DIR and the cluster in DIR-cluster",
    )
    return parser.parse_args(argv)


# The frozen bundle has one executable: it runs broker and cluster nodes as itself with this
# flag first (embedded_broker.launcher.node_command), never the GUI.
BROKER_FLAG = "--broker"
GROUPS_FLAG = "--groups-helper"  # desktop.services.groups_process.FLAG


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [BROKER_FLAG]:
        from embedded_broker.__main__ import main as broker_main

        return broker_main(argv[1:])
    if argv[:1] == [GROUPS_FLAG]:  # the consumer-groups refresh (desktop.workers.groups_helper)
        from desktop.services.groups_process import main as groups_main

        return groups_main()
    args = parse_args(argv)
    if args.self_test:  # desktop.selftest builds on desktop.app, never the other way round
        from desktop.app import ensure_display, setup_logging
        from desktop.selftest import run_self_test

        setup_logging()
        ensure_display()
        return run_self_test(
            local_port=args.local_port, data_dir=Path(args.data_dir) if args.data_dir else None
        )
    from desktop.app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
