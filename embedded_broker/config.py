"""Broker settings by their Kafka names, with Kafka's defaults and type validation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .limits import MAX_PARTITIONS

BOOLEAN = "boolean"
INT = "int"
LONG = "long"
STRING = "string"
LIST = "list"
DOUBLE = "double"


class ConfigError(ValueError):
    """A setting is unknown or its value is invalid; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ConfigDef:
    name: str
    type: str
    default: str | None
    doc: str
    validator: Callable[[str], str | None] | None = None  # returns an error message or None
    dynamic: bool = False  # may be changed at runtime through AlterConfigs
    read_only: bool = False
    sensitive: bool = False  # a secret: DescribeConfigs shows no value


def at_least(low: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if int(value) >= low else f"must be at least {low}"

    return check


def between(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if low <= int(value) <= high else f"must be between {low} and {high}"

    return check


def one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def list_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        items = [v.strip() for v in value.split(",") if v.strip()]
        bad = [v for v in items if v not in choices]
        if bad or not items:
            return f"must be a list of {', '.join(choices)}"
        return None

    return check


def double_between(low: float, high: float) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            number = float(value)
        except ValueError:
            return "expected a number"
        return None if low <= number <= high else f"must be between {low} and {high}"

    return check


_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)

BROKER_CONFIGS: dict[str, ConfigDef] = {
    d.name: d
    for d in (
        ConfigDef("node.id", INT, "1", "The node id of this broker.", at_least(0), read_only=True),
        ConfigDef("broker.id", INT, None, "Alias of node.id.", at_least(0), read_only=True),
        ConfigDef(
            "advertised.host.name",
            STRING,
            None,
            "Host name given to clients in Metadata; default: the address they connected to.",
            read_only=True,
        ),
        ConfigDef(
            "advertised.port", INT, None, "Port given to clients.", at_least(1), read_only=True
        ),
        ConfigDef(
            "auto.create.topics.enable", BOOLEAN, "true", "Create topics on metadata requests."
        ),
        ConfigDef("delete.topic.enable", BOOLEAN, "true", "Allow deleting topics."),
        ConfigDef(
            "num.partitions",
            INT,
            "1",
            "Default partition count.",
            between(1, MAX_PARTITIONS),
            dynamic=True,
        ),
        ConfigDef(
            "default.replication.factor", INT, "1", "Default replication factor.", at_least(1)
        ),
        ConfigDef(
            "min.insync.replicas", INT, "1", "Minimum in-sync replicas.", at_least(1), dynamic=True
        ),
        ConfigDef(
            "log.retention.check.interval.ms",
            LONG,
            "300000",
            "How often retention is enforced.",
            at_least(1),
        ),
        ConfigDef(
            "message.max.bytes",
            INT,
            "1048588",
            "Largest record batch size.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "group.initial.rebalance.delay.ms",
            INT,
            "3000",
            "Delay before the first rebalance of a new group.",
            at_least(0),
        ),
        ConfigDef(
            "group.min.session.timeout.ms",
            INT,
            "6000",
            "Minimum consumer session timeout.",
            at_least(0),
        ),
        ConfigDef(
            "group.max.session.timeout.ms",
            INT,
            "1800000",
            "Maximum consumer session timeout.",
            at_least(0),
        ),
        ConfigDef(
            "group.max.size",
            INT,
            "2147483647",
            "Maximum number of members of a classic group (JoinGroup answers "
            "GROUP_MAX_SIZE_REACHED beyond it).",
            at_least(1),
        ),
        ConfigDef(
            "group.consumer.session.timeout.ms",
            INT,
            "45000",
            "Session timeout of consumer-protocol group members (KIP-848).",
            at_least(1),
        ),
        ConfigDef(
            "group.consumer.heartbeat.interval.ms",
            INT,
            "5000",
            "Heartbeat interval given to consumer-protocol group members (KIP-848).",
            at_least(1),
        ),
        ConfigDef(
            "group.consumer.max.size",
            INT,
            "2147483647",
            "Maximum number of members of a consumer-protocol group.",
            at_least(1),
        ),
        ConfigDef(
            "group.consumer.assignors",
            LIST,
            "uniform,range",
            "Server-side assignors of consumer-protocol groups; the first is the default.",
            list_of("uniform", "range"),
        ),
        ConfigDef(
            "group.consumer.migration.policy",
            STRING,
            "bidirectional",
            "Whether a classic group with members becomes a consumer group when a "
            "consumer-protocol member joins (upgrade), and back when its last one leaves "
            "(downgrade): bidirectional, upgrade, downgrade or disabled.",
            one_of("bidirectional", "upgrade", "downgrade", "disabled"),
        ),
        # Share groups (KIP-932), with Kafka 4.3.1's defaults.
        ConfigDef(
            "group.share.record.lock.duration.ms",
            INT,
            "30000",
            "How long a share consumer holds the records it fetched before they are delivered "
            "again.",
            at_least(1000),
        ),
        ConfigDef(
            "group.share.delivery.count.limit",
            INT,
            "5",
            "How many times a record is delivered to share consumers before it is archived.",
            between(2, 10),
        ),
        ConfigDef(
            "group.share.partition.max.record.locks",
            INT,
            "2000",
            "Most records of a share-partition in flight (delivered but not yet acknowledged).",
            at_least(100),
        ),
        ConfigDef(
            "group.share.session.timeout.ms",
            INT,
            "45000",
            "Session timeout of share group members.",
            at_least(1),
        ),
        ConfigDef(
            "group.share.heartbeat.interval.ms",
            INT,
            "5000",
            "Heartbeat interval given to share group members.",
            at_least(1),
        ),
        ConfigDef(
            "group.share.max.size",
            INT,
            "200",
            "Maximum number of members of a share group.",
            between(1, 1000),
        ),
        ConfigDef(
            "group.share.max.share.sessions",
            INT,
            "2000",
            "Maximum number of share sessions (one per share consumer) the broker keeps.",
            at_least(1),
        ),
        # -- share coordinator (issue 18): a local cluster's replicated __share_group_state --
        ConfigDef(
            "share.coordinator.state.topic.num.partitions",
            INT,
            "50",
            "Partitions of __share_group_state in a local cluster (fixed once it exists).",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "share.coordinator.state.topic.replication.factor",
            INT,
            "3",
            "Replication of __share_group_state (a local cluster uses at most its broker count).",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "share.coordinator.state.topic.min.isr",
            INT,
            "2",
            "min.insync.replicas of __share_group_state (never more than its replication factor).",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "share.coordinator.state.topic.segment.bytes",
            INT,
            "104857600",
            "Segment size of __share_group_state.",
            at_least(1024),
            read_only=True,
        ),
        ConfigDef(
            "offsets.retention.minutes",
            INT,
            "10080",
            "How long committed offsets of empty groups are kept.",
            at_least(1),
        ),
        ConfigDef(
            "offsets.retention.check.interval.ms",
            LONG,
            "600000",
            "How often committed offsets of empty groups are checked for expiry.",
            at_least(1),
        ),
        ConfigDef(
            "offset.metadata.max.bytes",
            INT,
            "4096",
            "Largest metadata string an offset commit may carry.",
            at_least(0),
        ),
        ConfigDef(
            "offsets.topic.num.partitions",
            INT,
            "50",
            "Partitions of __consumer_offsets.",
            at_least(1),
        ),
        ConfigDef(
            "offsets.topic.replication.factor",
            INT,
            "1",
            "Replication of __consumer_offsets (Kafka's default is 3; a single built-in broker "
            "can hold only 1 replica).",
            at_least(1),
        ),
        ConfigDef(
            "offsets.commit.timeout.ms",
            INT,
            "5000",
            "How long an offset commit or group change waits for every in-sync replica of its "
            "__consumer_offsets partition (in a cluster) before it fails.",
            at_least(1),
        ),
        ConfigDef(
            "socket.request.max.bytes",
            INT,
            "104857600",
            "Largest request accepted.",
            at_least(1),
        ),
        ConfigDef(
            "max.connections",
            INT,
            "1000",
            "Client connections open at once; a connection above it is closed at once (Kafka's "
            "default is unbounded; the built-in broker keeps the app's file descriptors safe).",
            at_least(1),
        ),
        ConfigDef(
            "queued.max.request.bytes",
            LONG,
            "536870912",
            "Request bytes all connections together may hold (0 or -1: unbounded); a connection "
            "whose next request does not fit stops being read until memory is returned, as "
            "Kafka's memory pool does (Kafka's default is unbounded; the built-in broker "
            "protects the app).",
            at_least(-1),
        ),
        # -- memory and fairness of connections (issue 11, findings 7 and 8) --
        ConfigDef(
            "queued.max.response.bytes",
            LONG,
            "67108864",
            "Response bytes all connections together may hold before the socket takes them "
            "(-1: unbounded). Fetches read less while it is used up, so consumers that stop "
            "reading their sockets cannot grow the broker's memory. The built-in broker's own "
            "setting; Kafka has no equivalent.",
            at_least(-1),
        ),
        ConfigDef(
            "fetch.max.bytes",
            INT,
            "57671680",
            "Largest total of record bytes one Fetch response carries (at least one batch is "
            "always returned).",
            at_least(1024),
        ),
        ConfigDef(
            "connections.max.idle.ms",
            LONG,
            "600000",
            "Close connections that have had no request in flight for this long (-1: never).",
            at_least(-1),
        ),
        ConfigDef(
            "log.retention.ms", LONG, None, "Retention time in ms.", at_least(-1), dynamic=True
        ),
        ConfigDef("log.retention.minutes", INT, None, "Retention time in minutes.", dynamic=True),
        ConfigDef("log.retention.hours", INT, "168", "Retention time in hours.", dynamic=True),
        ConfigDef("log.retention.bytes", LONG, "-1", "Retention size per partition.", dynamic=True),
        ConfigDef(
            "log.segment.bytes", INT, "1073741824", "Segment file size.", at_least(14), dynamic=True
        ),
        ConfigDef("log.roll.ms", LONG, None, "Segment roll time in ms.", at_least(1), dynamic=True),
        ConfigDef(
            "log.roll.hours", INT, "168", "Segment roll time in hours.", at_least(1), dynamic=True
        ),
        ConfigDef(
            "log.index.interval.bytes",
            INT,
            "4096",
            "Bytes between index entries.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "log.flush.interval.ms",
            LONG,
            "60000",
            "How often every partition is synced to disk (fsync), off the request path. "
            "Appends survive a killed broker at once; this bounds what a power loss can take. "
            "Kafka leaves it unset because replication covers power loss; a single built-in "
            "broker has no replicas, so it syncs every minute.",
            at_least(1),
        ),
        ConfigDef(
            "log.segment.delete.delay.ms",
            LONG,
            "60000",
            "Delay before deleting a segment file.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "log.cleanup.policy",
            LIST,
            "delete",
            "Default cleanup policy.",
            list_of("delete", "compact"),
            dynamic=True,
        ),
        ConfigDef(
            "log.message.timestamp.type",
            STRING,
            "CreateTime",
            "Default timestamp type.",
            one_of("CreateTime", "LogAppendTime"),
            dynamic=True,
        ),
        ConfigDef(
            "log.message.timestamp.before.max.ms",
            LONG,
            "9223372036854775807",
            "How far back a CreateTime record timestamp may be (INVALID_TIMESTAMP beyond).",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "log.message.timestamp.after.max.ms",
            LONG,
            "3600000",
            "How far ahead a CreateTime record timestamp may be (INVALID_TIMESTAMP beyond); "
            "one hour, as in Kafka 4.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "compression.type",
            STRING,
            "producer",
            "Default compression type.",
            one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
            dynamic=True,
        ),
        ConfigDef(
            "unclean.leader.election.enable",
            BOOLEAN,
            "false",
            "Single broker: always trivially honoured.",
            dynamic=True,
        ),
        ConfigDef(
            "producer.id.expiration.ms",
            INT,
            "86400000",
            "How long a partition keeps the state of an idempotent producer (its epoch and last "
            "sequences) after that producer's last write; a retry older than this is no longer "
            "recognised as a duplicate.",
            at_least(1),
            dynamic=True,
        ),
        ConfigDef(
            "producer.id.expiration.check.interval.ms",
            INT,
            "600000",
            "How often idle producer ids are expired.",
            at_least(1),
        ),
        # -- transactions (issue 15): the transaction coordinator, Kafka's names and defaults --
        ConfigDef(
            "transaction.state.log.num.partitions",
            INT,
            "50",
            "Partitions of __transaction_state (fixed once the topic exists).",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "transaction.state.log.replication.factor",
            INT,
            "1",
            "Replication of __transaction_state (Kafka's default is 3; a single built-in broker "
            "can hold only 1 replica).",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "transaction.state.log.segment.bytes",
            INT,
            "104857600",
            "Segment size of __transaction_state.",
            at_least(1024),
            read_only=True,
        ),
        # -- transactions in a local cluster (issue 15): the replicated __transaction_state --
        ConfigDef(
            "transaction.state.log.min.isr",
            INT,
            "2",
            "min.insync.replicas of __transaction_state in a local cluster (never more than its "
            "replication factor).",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "transaction.max.timeout.ms",
            INT,
            "900000",
            "The largest transaction.timeout.ms a transactional producer may ask for.",
            at_least(1),
        ),
        ConfigDef(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            INT,
            "10000",
            "How often transactions open longer than their timeout are aborted.",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "transactional.id.expiration.ms",
            INT,
            "604800000",
            "How long the coordinator keeps a transactional id that has not been used.",
            at_least(1),
            read_only=True,
        ),
        ConfigDef(
            "transaction.remove.expired.transaction.cleanup.interval.ms",
            INT,
            "3600000",
            "How often expired transactional ids are removed.",
            at_least(1),
            read_only=True,
        ),
        # -- cluster mode (issue 12): the controller and the brokers that register with it --
        ConfigDef("broker.rack", STRING, None, "The rack of this broker.", read_only=True),
        ConfigDef(
            "broker.session.timeout.ms",
            INT,
            "9000",
            "How long the controller waits for a broker's heartbeat before fencing it.",
            at_least(1),
        ),
        ConfigDef(
            "broker.heartbeat.interval.ms",
            INT,
            "2000",
            "How often a broker sends a heartbeat to the controller.",
            at_least(1),
        ),
        ConfigDef(
            "auto.leader.rebalance.enable",
            BOOLEAN,
            "true",
            "The controller gives leadership back to each partition's preferred replica once it "
            "is in sync again.",
        ),
        ConfigDef(
            "leader.imbalance.check.interval.seconds",
            INT,
            "300",
            "How often the controller looks for partitions not led by their preferred replica.",
            at_least(1),
        ),
        # -- replication (issue 12): Kafka's names and defaults --
        ConfigDef(
            "replica.lag.time.max.ms",
            LONG,
            "30000",
            "A follower that has not caught up with its leader for this long leaves the ISR.",
            at_least(1),
        ),
        ConfigDef(
            "replica.fetch.wait.max.ms",
            INT,
            "500",
            "How long a follower's fetch waits at the leader for new data.",
            at_least(0),
        ),
        ConfigDef(
            "replica.fetch.backoff.ms",
            INT,
            "1000",
            "How long a follower waits after its leader could not be reached or refused it.",
            at_least(0),
        ),
        ConfigDef(
            "replica.fetch.max.bytes",
            INT,
            "1048576",
            "Bytes a follower asks for per partition in one fetch.",
            at_least(0),
        ),
        ConfigDef(
            "replica.fetch.response.max.bytes",
            INT,
            "10485760",
            "Bytes a follower asks for in one whole fetch.",
            at_least(0),
        ),
        # -- fetch from the closest replica (issue 12, KIP-392) --
        ConfigDef(
            "replica.selector.class",
            STRING,
            None,
            "How a leader picks the replica a consumer reads from: unset (always the leader), "
            "org.apache.kafka.common.replica.RackAwareReplicaSelector (an in-sync replica in "
            "the consumer's client.rack) or org.apache.kafka.common.replica.LeaderSelector.",
            one_of(
                "",
                "org.apache.kafka.common.replica.RackAwareReplicaSelector",
                "org.apache.kafka.common.replica.LeaderSelector",
            ),
            read_only=True,
        ),
        ConfigDef(
            "replica.high.watermark.checkpoint.interval.ms",
            LONG,
            "5000",
            "How often high watermarks are saved to replication-offset-checkpoint.",
            at_least(1),
        ),
        # -- security: listeners, TLS and SASL (embedded_broker/security) ---------------------
        ConfigDef(
            "listeners",
            STRING,
            None,
            "Comma-separated NAME://HOST:PORT listeners, e.g. PLAINTEXT://127.0.0.1:9092,"
            "SASL_SSL://127.0.0.1:9093; default: one PLAINTEXT listener on --host/--port.",
            read_only=True,
        ),
        ConfigDef(
            "advertised.listeners",
            STRING,
            None,
            "NAME://HOST:PORT given to clients in Metadata, per listener name; default: the "
            "address the client connected to.",
            read_only=True,
        ),
        ConfigDef(
            "listener.security.protocol.map",
            STRING,
            "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            "LISTENER_NAME:SECURITY_PROTOCOL pairs for listener names that are not protocols.",
            read_only=True,
        ),
        ConfigDef(
            "inter.broker.listener.name",
            STRING,
            None,
            "The listener brokers use to reach each other; default: the first listener.",
            read_only=True,
        ),
        ConfigDef(
            "sasl.enabled.mechanisms",
            LIST,
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "SASL mechanisms offered on SASL listeners (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512).",
            list_of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
            read_only=True,
        ),
        ConfigDef(
            "sasl.jaas.config",
            STRING,
            None,
            'PLAIN users as Kafka\'s PlainLoginModule takes them: user_NAME="PASSWORD" entries; '
            "per listener: listener.name.NAME.plain.sasl.jaas.config.",
            read_only=True,
            sensitive=True,
        ),
        ConfigDef(
            "connections.max.reauth.ms",
            LONG,
            "0",
            "SASL session lifetime: a client must re-authenticate within it (0: never).",
            at_least(0),
            read_only=True,
        ),
        ConfigDef(
            "ssl.keystore.type",
            STRING,
            "PEM",
            "PEM or PKCS12 (JKS is not supported: convert it with keytool to PKCS12).",
            one_of("PEM", "PKCS12"),
            read_only=True,
        ),
        ConfigDef(
            "ssl.keystore.location",
            STRING,
            None,
            "The server's private key and certificate chain (a PEM or PKCS12 file).",
            read_only=True,
        ),
        ConfigDef(
            "ssl.keystore.password", STRING, None, "Password of a PKCS12 keystore.", sensitive=True
        ),
        ConfigDef("ssl.key.password", STRING, None, "Password of the private key.", sensitive=True),
        ConfigDef(
            "ssl.keystore.certificate.chain",
            STRING,
            None,
            "The server certificate chain as inline PEM (with ssl.keystore.key).",
            read_only=True,
        ),
        ConfigDef(
            "ssl.keystore.key",
            STRING,
            None,
            "The server's private key as inline PEM.",
            read_only=True,
            sensitive=True,
        ),
        ConfigDef(
            "ssl.truststore.type",
            STRING,
            "PEM",
            "PEM or PKCS12.",
            one_of("PEM", "PKCS12"),
            read_only=True,
        ),
        ConfigDef(
            "ssl.truststore.location",
            STRING,
            None,
            "CA certificates that sign client certificates (PEM or PKCS12 file).",
            read_only=True,
        ),
        ConfigDef(
            "ssl.truststore.password",
            STRING,
            None,
            "Password of a PKCS12 truststore.",
            sensitive=True,
        ),
        ConfigDef(
            "ssl.truststore.certificates",
            STRING,
            None,
            "CA certificates as inline PEM.",
            read_only=True,
        ),
        ConfigDef(
            "ssl.client.auth",
            STRING,
            "none",
            "Client certificates: required, requested or none.",
            one_of("required", "requested", "none"),
            read_only=True,
        ),
        ConfigDef(
            "ssl.enabled.protocols",
            LIST,
            "TLSv1.2,TLSv1.3",
            "TLS versions accepted (TLSv1.2 and newer).",
            list_of("TLSv1.2", "TLSv1.3"),
            read_only=True,
        ),
        # -- authorization: ACLs (embedded_broker/security/authorizer.py) ---------------------
        ConfigDef(
            "authorizer.class.name",
            STRING,
            "",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer turns ACLs on; empty: no "
            "authorization (every client may do everything).",
            read_only=True,
        ),
        ConfigDef(
            "super.users",
            STRING,
            None,
            "Principals allowed everything, separated by ';', e.g. User:admin;User:ops.",
            read_only=True,
        ),
        ConfigDef(
            "allow.everyone.if.no.acl.found",
            BOOLEAN,
            "false",
            "With an authorizer: allow a resource that no ACL names to everyone.",
            read_only=True,
        ),
        # -- authentication failures (server.py) and certificate principals (security/) -------
        ConfigDef(
            "connection.failed.authentication.delay.ms",
            INT,
            "100",
            "How long a connection stays open after a failed authentication; the error reply "
            "is sent at once (0: close at once).",
            at_least(0),
            read_only=True,
        ),
        ConfigDef(
            "ssl.principal.mapping.rules",
            STRING,
            "DEFAULT",
            "How a client certificate's subject becomes the principal: RULE:pattern/replacement/"
            "[LU] entries tried in order, DEFAULT keeps the whole subject.",
            read_only=True,
        ),
        # --- log compaction (storage/cleaner.py), Kafka's names and defaults ---
        ConfigDef(
            "log.cleaner.enable",
            BOOLEAN,
            "true",
            "Run the log cleaner, which compacts topics with cleanup.policy=compact.",
        ),
        ConfigDef(
            "log.cleaner.threads",
            INT,
            "1",
            "Threads that clean compacted partitions (0 turns cleaning off); read at start.",
            at_least(0),
        ),
        ConfigDef(
            "log.cleaner.dedupe.buffer.size",
            LONG,
            "134217728",
            "Memory for the cleaners' key maps, shared by all cleaner threads (192 bytes a key).",
            at_least(48),
        ),
        ConfigDef(
            "log.cleaner.io.buffer.load.factor",
            DOUBLE,
            "0.9",
            "How full a cleaner's key map may get.",
            double_between(0.01, 1.0),
        ),
        ConfigDef(
            "log.cleaner.backoff.ms",
            LONG,
            "15000",
            "How long a cleaner sleeps when no partition needs cleaning.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "log.cleaner.min.cleanable.ratio",
            DOUBLE,
            "0.5",
            "Default min.cleanable.dirty.ratio of topics.",
            double_between(0.0, 1.0),
            dynamic=True,
        ),
        ConfigDef(
            "log.cleaner.delete.retention.ms",
            LONG,
            "86400000",
            "Default delete.retention.ms of topics.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "log.cleaner.min.compaction.lag.ms",
            LONG,
            "0",
            "Default min.compaction.lag.ms of topics.",
            at_least(0),
            dynamic=True,
        ),
        ConfigDef(
            "log.cleaner.max.compaction.lag.ms",
            LONG,
            "9223372036854775807",
            "Default max.compaction.lag.ms of topics.",
            at_least(1),
            dynamic=True,
        ),
        ConfigDef(
            "max.incremental.fetch.session.cache.slots",
            INT,
            "1000",
            "Incremental fetch sessions (KIP-227) this broker keeps at most; 0 turns them off.",
            at_least(0),
        ),
    )
}


LISTENER_PREFIX = "listener.name."
_SASL_MECHANISM_PREFIXES = ("plain.", "scram-sha-256.", "scram-sha-512.")


def listener_prefixed(name: str) -> ConfigDef | None:
    """The definition behind a listener.name.NAME[.MECHANISM].ssl.*/sasl.* setting, as Kafka
    takes per-listener overrides; None for anything else."""
    if not name.startswith(LISTENER_PREFIX):
        return None
    _, _, rest = name[len(LISTENER_PREFIX) :].partition(".")
    for mechanism in _SASL_MECHANISM_PREFIXES:
        if rest.startswith(mechanism) and rest[len(mechanism) :] == "sasl.jaas.config":
            rest = "sasl.jaas.config"
    if not (rest.startswith(("ssl.", "sasl.")) or rest == "connections.max.reauth.ms"):
        return None
    return BROKER_CONFIGS.get(rest)


def validate_value(definition: ConfigDef, value: str) -> str:
    """Return the normalised value or raise ConfigError with a user-readable message."""
    name = definition.name
    value = value.strip()
    if definition.type == BOOLEAN:
        if value.lower() not in ("true", "false"):
            raise ConfigError(f"Invalid value {value!r} for {name}: expected true or false")
        value = value.lower()
    elif definition.type in (INT, LONG):
        low, high = _INT_RANGE if definition.type == INT else _LONG_RANGE
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(
                f"Invalid value {value!r} for {name}: expected a whole number"
            ) from None
        if not low <= number <= high:
            raise ConfigError(f"Invalid value {value!r} for {name}: out of range")
        value = str(number)
    if definition.validator is not None:
        problem = definition.validator(value)
        if problem:
            raise ConfigError(f"Invalid value {value!r} for {name}: {problem}")
    return value


class BrokerConfig:
    """Static settings given at start plus dynamic overrides set through AlterConfigs."""

    def __init__(self, static: Mapping[str, str] | None = None) -> None:
        self.static: dict[str, str] = {}
        self.dynamic: dict[str, str] = {}
        for name, value in (static or {}).items():
            definition = BROKER_CONFIGS.get(name) or listener_prefixed(name)
            if definition is None:
                raise ConfigError(
                    f"Unknown broker setting {name!r}. Known settings: "
                    + ", ".join(sorted(BROKER_CONFIGS))
                )
            self.static[name] = validate_value(definition, str(value))
        if "broker.id" in self.static and "node.id" not in self.static:
            self.static["node.id"] = self.static["broker.id"]

    def value(self, name: str) -> str | None:
        if name in self.dynamic:
            return self.dynamic[name]
        if name in self.static:
            return self.static[name]
        return BROKER_CONFIGS[name].default

    def source(self, name: str) -> str:
        if name in self.dynamic:
            return "DYNAMIC_BROKER_CONFIG"
        if name in self.static:
            return "STATIC_BROKER_CONFIG"
        return "DEFAULT_CONFIG"

    def get_int(self, name: str) -> int:
        raw = self.value(name)
        if raw is None:
            raise KeyError(name)
        return int(raw)

    def get_bool(self, name: str) -> bool:
        return self.value(name) == "true"

    def get_str(self, name: str) -> str | None:
        return self.value(name)

    @property
    def node_id(self) -> int:
        return self.get_int("node.id")

    def retention_ms(self) -> int:
        for name, factor in (
            ("log.retention.ms", 1),
            ("log.retention.minutes", 60_000),
            ("log.retention.hours", 3_600_000),
        ):
            raw = self.value(name)
            if raw is not None:
                return int(raw) * factor if int(raw) >= 0 else -1
        return 604_800_000

    def roll_ms(self) -> int:
        raw = self.value("log.roll.ms")
        if raw is not None:
            return int(raw)
        return self.get_int("log.roll.hours") * 3_600_000
