"""librdkafka configuration from a profile, and error messages written for users."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from desktop.domain.cluster import ConnectionResult
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.cancel import NEVER, POLL_S, CancelToken
from desktop.services.probe import PROBE_DEADLINE_S, ProbeResult, Verdict, first_address, probe

TEST_TIMEOUT_S = 9.0


def client_config(profile: ClusterProfile, creds: Credentials) -> dict[str, Any]:
    """The librdkafka properties for `profile` (secrets from `creds`)."""
    conf: dict[str, Any] = {
        "bootstrap.servers": profile.bootstrap,
        "security.protocol": profile.security_protocol.value,
        "socket.connection.setup.timeout.ms": 8000,
        "reconnect.backoff.max.ms": 2000,
        "log_level": 0,
    }
    proto = profile.security_protocol
    if proto.uses_sasl:
        conf["sasl.mechanism"] = profile.sasl_mechanism.value
        conf["sasl.username"] = profile.username
        conf["sasl.password"] = creds.password
    if proto.uses_tls:
        conf["ssl.endpoint.identification.algorithm"] = (
            "https" if profile.verify_hostname else "none"
        )
        if profile.ca_location:
            conf["ssl.ca.location"] = profile.ca_location
        if profile.cert_location and profile.cert_is_pkcs12:
            conf["ssl.keystore.location"] = profile.cert_location
            if creds.key_password:
                conf["ssl.keystore.password"] = creds.key_password
        elif profile.cert_location:
            conf["ssl.certificate.location"] = profile.cert_location
            if profile.key_location:
                conf["ssl.key.location"] = profile.key_location
            if creds.key_password:
                conf["ssl.key.password"] = creds.key_password
    for key, value in profile.extra:
        conf[key] = value
    return conf


@dataclass(frozen=True)
class Diagnosis:
    cause: str
    message: str


def diagnose(errors: list[str], bootstrap: str) -> Diagnosis | None:
    """Map librdkafka error texts to a cause a user understands (None when undecided)."""
    joined = " | ".join(errors).lower()
    if "authentication failed" in joined or "sasl authentication error" in joined:
        return Diagnosis(
            "authentication",
            "Authentication failed: the broker rejected the username or password. "
            "Check the credentials and the SASL mechanism.",
        )
    if "certificate verify failed" in joined:
        # OpenSSL says the same for an unknown CA and for a certificate naming another host
        return Diagnosis(
            "tls",
            "TLS handshake failed: the broker's certificate could not be verified. It is not "
            "signed by the CA in the profile's CA file, or it does not name this host. Check "
            "the CA file (the one that signed the broker's certificate) and the host name.",
        )
    if any(k in joined for k in ("ssl handshake", "certificate verify", "ssl error", "ssl_")):
        return Diagnosis(
            "tls",
            "TLS handshake failed: the broker's certificate was not accepted or the listener "
            "does not speak TLS. Check the CA file, client certificate and security protocol.",
        )
    if "resolve" in joined or "name or service not known" in joined:
        return Diagnosis(
            "resolve",
            f"Host name not resolved: none of '{bootstrap}' could be looked up. "
            "Check the spelling of the bootstrap servers.",
        )
    if "connection refused" in joined:
        return Diagnosis(
            "refused",
            f"Connection refused by {bootstrap}: nothing is listening there. "
            "Check the host and port, and that the broker is running.",
        )
    if "disconnected while requesting apiversion" in joined:
        return Diagnosis(
            "tls",
            "The broker closed the connection during the handshake: the security protocol "
            "probably does not match the listener.",
        )
    return None


def timeout_message(bootstrap: str, seconds: float) -> str:
    return (
        f"Timed out after {seconds:.0f} s waiting for {bootstrap}. The host may be unreachable "
        "(firewall, VPN) or the listener may expect a different security protocol."
    )


class ErrorLog:
    """Collects librdkafka error callbacks (called on librdkafka's threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[str] = []

    def __call__(self, err: KafkaError) -> None:
        with self._lock:
            self._errors.append(str(err.str()))
            del self._errors[:-20]

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        with self._lock:
            self._errors.clear()


def mismatch(result: ProbeResult, protocol: str | None) -> str | None:
    """The probe's finding when it names why a client with `protocol` cannot talk to the port.

    `protocol` None means unknown: then only findings that no security protocol explains count.
    """
    tls = protocol is not None and "SSL" in protocol
    sasl = protocol is not None and "SASL" in protocol
    if result.verdict in (Verdict.HTTP, Verdict.OTHER):
        return result.message()
    if protocol is None:
        return None
    if result.verdict == Verdict.TLS and not tls:
        return result.message(protocol)
    if result.verdict == Verdict.KAFKA_SASL and not sasl and not tls:
        return result.message(protocol)
    if result.verdict in (Verdict.KAFKA, Verdict.KAFKA_SASL) and tls:
        return (
            f"{result.host}:{result.port} is a plaintext Kafka listener (it answered a plaintext "
            f"request), but the profile uses {protocol}. Set the security protocol to "
            f"{'SASL_PLAINTEXT' if sasl else 'PLAINTEXT'}, or use the broker's TLS port."
        )
    return None


def probe_bootstrap(
    bootstrap: str, protocol: str | None, deadline_s: float = PROBE_DEADLINE_S
) -> str | None:
    """Probe the first bootstrap server; a message when it is not what the profile expects."""
    address = first_address(bootstrap)
    if address is None:
        return None
    return mismatch(probe(*address, deadline_s=deadline_s), protocol)


def dead_bootstrap(
    bootstrap: str, protocol: str | None, deadline_s: float = PROBE_DEADLINE_S
) -> str | None:
    """Why no bootstrap server can serve the profile, when that is certain at once (every one
    refuses the connection, has no such host, or is not the Kafka listener the profile wants);
    None while one may still answer. A connect that times out is not certain: a slow network
    may still get there, so librdkafka keeps trying within its own timeout."""
    reasons: list[str] = []
    for server in bootstrap.split(","):
        address = first_address(server)
        if address is None:
            return None
        result = probe(*address, deadline_s=deadline_s)
        if result.verdict == Verdict.REFUSED or (
            result.verdict == Verdict.UNREACHABLE and "timed out" not in result.detail.lower()
        ):
            reasons.append(result.message())
            continue
        wrong = mismatch(result, protocol)
        if wrong is None:
            return None
        reasons.append(wrong)
    return " ".join(reasons) or None


def explain(
    exc: BaseException, errors: list[str], bootstrap: str, protocol: str | None = None
) -> str:
    """A user-readable message for an exception raised by a Kafka call.

    Before blaming a timeout on the network, a short probe (≤ 2 s) checks whether the port
    answers as something other than Kafka.
    """
    texts = [*errors]
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        texts.append(str(exc.args[0].str()))
    else:
        texts.append(str(exc))
    found = diagnose(texts, bootstrap)
    if found:
        return found.message
    last = texts[-1] if texts else type(exc).__name__
    if "timed out" in last.lower() or "transport" in last.lower():
        return probe_bootstrap(bootstrap, protocol) or timeout_message(bootstrap, TEST_TIMEOUT_S)
    return f"The cluster reported an error: {last}"


def test_connection(
    profile: ClusterProfile,
    creds: Credentials,
    timeout: float = TEST_TIMEOUT_S,
    token: CancelToken = NEVER,
) -> ConnectionResult:
    """Ask for the cluster's brokers; answer with their count or the specific cause.

    A raw-socket probe goes first (≤ 2 s): a port that answers as something other than the
    Kafka listener the profile describes is named at once instead of after the full timeout.
    """
    wrong = probe_bootstrap(profile.bootstrap, profile.security_protocol.value)
    if wrong is not None:
        return ConnectionResult(False, wrong, cause="not-kafka")
    log = ErrorLog()
    conf = client_config(profile, creds)
    conf["error_cb"] = log
    try:
        admin = AdminClient(conf)
    except (KafkaException, ValueError, TypeError) as exc:
        return ConnectionResult(False, f"Invalid settings: {exc}", cause="config")
    deadline = time.monotonic() + timeout
    # DescribeCluster is a Metadata request that names no topics: small however many topics the
    # cluster has, and answered by a future, so the wait looks at the token every POLL_S
    fut = admin.describe_cluster(request_timeout=timeout)
    while True:
        token.check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            desc = fut.result(timeout=min(POLL_S, remaining))
        except concurrent.futures.TimeoutError:
            admin.poll(0)  # error callbacks: a cause may be plain before the timeout
            found = diagnose(log.snapshot(), profile.bootstrap)
            if found is not None:
                return ConnectionResult(False, found.message, cause=found.cause)
            continue
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            text = str(err.str()) if isinstance(err, KafkaError) else str(exc)
            found = diagnose([*log.snapshot(), text], profile.bootstrap)
            if found is not None:
                return ConnectionResult(False, found.message, cause=found.cause)
            if "timed out" in text.lower():
                break
            return ConnectionResult(False, f"The cluster reported an error: {text}", cause="error")
        count = len(desc.nodes)
        noun = "broker" if count == 1 else "brokers"
        return ConnectionResult(True, f"Connected: {count} {noun}.", broker_count=count)
    found = diagnose(log.snapshot(), profile.bootstrap)
    if found is not None:
        return ConnectionResult(False, found.message, cause=found.cause)
    token.check()
    wrong = probe_bootstrap(profile.bootstrap, profile.security_protocol.value)
    if wrong is not None:  # it answers differently now than when the test began
        return ConnectionResult(False, wrong, cause="not-kafka")
    return ConnectionResult(False, timeout_message(profile.bootstrap, timeout), cause="timeout")
