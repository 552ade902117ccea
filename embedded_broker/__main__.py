"""topicscope-broker: run the built-in Kafka broker from the command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .config import BrokerConfig, ConfigError
from .runner import BrokerRunner, BrokerStartError, default_data_dir
from .security.listeners import parse_listeners

log = logging.getLogger("embedded_broker")
# SCRAM users as --add-scram takes them, one per line: a process's environment is readable only
# by its own user (/proc/PID/environ is 0400), its command line by everyone (ps)
SCRAM_ENV = "TOPICSCOPE_ADD_SCRAM"


def _parse_config(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--config expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


SECURITY_HELP = """\
security (all through --config, with Kafka's names):
  listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9093
                        one listener per NAME://HOST:PORT (replaces --host/--port); the
                        protocol is the name, or listener.security.protocol.map=NAME:PROTOCOL,...
                        with PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
  advertised.listeners=NAME://HOST:PORT,...   what Metadata tells clients of each listener
  inter.broker.listener.name=NAME             the listener brokers use among themselves
  ssl.keystore.location=server.pem            private key + certificate chain (PEM, or PKCS12
                        with ssl.keystore.type=PKCS12 and ssl.keystore.password); or inline PEM
                        in ssl.keystore.certificate.chain and ssl.keystore.key; ssl.key.password
  ssl.truststore.location=ca.pem              CAs that sign client certificates
  ssl.client.auth=required|requested|none     client certificates (mTLS); TLS 1.2 and newer
  ssl.principal.mapping.rules='RULE:^CN=([^,]+),.*$/$1/L,DEFAULT'   the mTLS principal: the
                        certificate subject through Kafka's rules (default: the whole subject)
  sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
  listener.name.sasl_ssl.plain.sasl.jaas.config='org.apache.kafka.common.security.plain.PlainLoginModule
                        required user_alice="alice-secret";'  PLAIN users (or sasl.jaas.config)
  connections.max.reauth.ms=3600000           SASL clients re-authenticate within this time
  Any ssl.* or sasl.* setting may be given per listener as listener.name.NAME.SETTING.
  SCRAM users: --add-scram at start, or kafka-configs --alter --add-config
  'SCRAM-SHA-512=[password=...]' --entity-type users --entity-name NAME. They are kept,
  salted, in scram-credentials.json in the data directory (a cluster: in the
  controller's metadata log). TOPICSCOPE_ADD_SCRAM in the environment takes the same users
  as --add-scram, one per line, out of sight of ps. A cluster's listeners: the inter-broker
  one is each broker's own port; the others may use port 0 (listed in cluster.json).
  A listener on a non-loopback address that asks nobody to authenticate is warned about.
  authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
                        ACLs on: a principal may do only what an ACL allows (kafka-acls, or
                        CreateAcls from any admin client); kept in acls.json (a cluster: in
                        the controller's metadata log)
  super.users=User:admin;User:ops             principals allowed everything
  allow.everyone.if.no.acl.found=false        true: a resource no ACL names is open to all
"""


def _scram_from_env() -> list[str]:
    """The users in TOPICSCOPE_ADD_SCRAM, which is then removed: no child process inherits it."""
    text = os.environ.pop(SCRAM_ENV, "")
    return [line for line in text.splitlines() if line.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="topicscope-broker",
        description="Run Topicscope's built-in Kafka broker.",
        epilog=SECURITY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=9092,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"data directory (default: {default_data_dir()})",
    )
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="keep everything in memory, nothing on disk (default: off)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="broker setting by its Kafka name, e.g. num.partitions=3 (repeatable; default: "
        "Kafka's defaults)",
    )
    parser.add_argument(
        "--add-scram",
        action="append",
        default=[],
        metavar="SCRAM-SHA-512=[name=NAME,password=PASSWORD]",
        help="add or replace a SCRAM user at start, as kafka-storage format --add-scram takes it "
        "(SCRAM-SHA-256 or -512; optional iterations=N, 4096 to 16384; repeatable; a --brokers N "
        "cluster keeps them in its controller's metadata log). Other local "
        f"users can see command lines: set {SCRAM_ENV} instead, or change the password later "
        "with kafka-configs (default: none)",
    )
    parser.add_argument(
        "--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR (default: %(default)s)"
    )
    parser.add_argument(
        "--brokers",
        type=int,
        default=1,
        help="2 or more: start a local cluster (a controller and this many brokers, each its "
        "own process, ids 101, 102, ... on --port, --port+1, ...; the controller on "
        "--port+N); needs --data-dir (default: %(default)s, a single broker)",
    )
    parser.add_argument(
        "--racks",
        default="",
        help="cluster: the brokers' racks, comma-separated (a,b,c; default: none)",
    )
    parser.add_argument(
        "--node",
        type=int,
        default=None,
        help="run one node (100: the controller, 101...: a broker) of the cluster in --data-dir "
        "(default: the whole cluster)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    # kio registers hypothesis strategies whenever hypothesis is importable (it is in dev
    # environments); the broker never needs them and the import costs ~0.2 s of startup.
    sys.modules.setdefault("hypothesis", None)  # type: ignore[arg-type]
    # imported here, not at the top: it is the first module to load kio
    from .security.runtime import parse_scram_user

    args = build_parser().parse_args(argv)
    level = getattr(logging, str(args.log_level).upper(), None)
    if not isinstance(level, int):
        print(f"topicscope-broker: unknown log level {args.log_level!r}", file=sys.stderr)
        return 2
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = _parse_config(args.config)
        parse_listeners(BrokerConfig(settings), args.host, args.port)
        scram_args = [*args.add_scram, *_scram_from_env()]
        scram_users = [parse_scram_user(item) for item in scram_args]
    except ConfigError as exc:
        print(f"topicscope-broker: {exc}", file=sys.stderr)
        return 2
    if args.node is not None or args.brokers != 1:
        return _run_cluster_mode(args, settings, scram_args, scram_users)
    runner = BrokerRunner(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        in_memory=args.in_memory,
        config=settings,
        scram_users=scram_users,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    from .cluster_node import watch_parent

    watch_parent(stop)  # started by the app: stop when the app is gone
    try:
        address = runner.start()
    except BrokerStartError as exc:
        print(f"topicscope-broker: {exc}", file=sys.stderr)
        return 1
    # The runner logs the no-authentication warning; print it when the log level hides it.
    if level > logging.WARNING and (warning := runner.exposure_warning):
        print(f"topicscope-broker: warning: {warning}", file=sys.stderr)
    where = "in memory" if args.in_memory else f"data dir {runner.data_dir}"
    log.info("Topicscope broker ready on %s:%d (%s)", args.host, address.port, where)
    if "listeners" in settings:
        for name, listener in runner.listeners.items():
            log.info("Listener %s on %s", name, listener.bootstrap)
    while not stop.wait(0.5):
        if not runner.running:
            log.error("The broker stopped unexpectedly")
            return 1
    log.info("Stopping the broker")
    runner.stop()
    return 0


def _run_cluster_mode(
    args: argparse.Namespace,
    settings: dict[str, str],
    scram_args: list[str],
    scram_users: list[tuple[str, str, str, int]],
) -> int:
    from .cluster_file import CONTROLLER_ID
    from .cluster_node import run_node
    from .launcher import LaunchError, run_cluster

    if args.data_dir is None or args.in_memory:
        print("topicscope-broker: a cluster needs --data-dir (and no --in-memory)", file=sys.stderr)
        return 2
    if args.node is not None:
        if scram_users and args.node != CONTROLLER_ID:
            print(
                f"topicscope-broker: SCRAM users of a cluster live on its controller: give "
                f"--add-scram to --node {CONTROLLER_ID} or to --brokers N",
                file=sys.stderr,
            )
            return 2
        return run_node(args.data_dir, args.node, scram_users)
    if args.brokers < 2:
        print("topicscope-broker: --brokers must be 1 (one node) or at least 2", file=sys.stderr)
        return 2
    racks = [r.strip() for r in args.racks.split(",") if r.strip()]
    try:
        return run_cluster(
            args.data_dir,
            args.brokers,
            host=args.host,
            port=args.port,
            racks=racks,
            settings=settings,
            log_level=str(args.log_level),
            # to the controller's process only, through its environment (out of sight of ps)
            controller_env={SCRAM_ENV: "\n".join(scram_args)} if scram_args else None,
        )
    except LaunchError as exc:
        print(f"topicscope-broker: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
