"""ACLs and SCRAM users over confluent-kafka's AdminClient, in domain objects."""

from __future__ import annotations

import concurrent.futures
from enum import Enum
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException

# confluent-kafka's admin package re-exports these without __all__; import their homes
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType
from confluent_kafka.admin._scram import (
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from desktop.domain.acl import (
    AclEntry,
    AclFilter,
    Operation,
    PatternKind,
    Permission,
    ResourceKind,
    ScramChange,
    ScramUser,
)
from desktop.domain.profile import SecurityProtocol
from desktop.services.admin import ClusterAdmin, KafkaServiceError

_KINDS = {
    ResourceKind.TOPIC: ResourceType.TOPIC,
    ResourceKind.GROUP: ResourceType.GROUP,
    ResourceKind.CLUSTER: ResourceType.BROKER,  # Kafka's CLUSTER (4); confluent calls it BROKER
    ResourceKind.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
}
_KINDS_BACK = {v: k for k, v in _KINDS.items()}
MECHANISMS = {
    "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
    "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512,
}
_MECHANISM_NAMES = {v: k for k, v in MECHANISMS.items()}

NO_AUTHORIZER = (
    "This cluster has no authorizer (authorizer.class.name is not set) — ACLs can't be listed "
    "or changed. Set authorizer.class.name on the brokers to use ACLs."
)


def to_binding(acl: AclEntry) -> AclBinding:
    return AclBinding(
        _KINDS[acl.resource],
        acl.name,
        ResourcePatternType[acl.pattern.value],
        acl.principal,
        acl.host,
        AclOperation[acl.operation.value],
        AclPermissionType[acl.permission.value],
    )


# confluent-kafka's stubs type a filter's fields as str; None is how a filter says "any"
_ANY = cast(str, None)


def _name(value: object) -> str:
    return value.name if isinstance(value, Enum) else str(value)


def _known(b: AclBinding) -> bool:
    return _name(b.restype) in {k.name for k in _KINDS_BACK}


def from_binding(b: AclBinding) -> AclEntry:
    return AclEntry(
        principal=b.principal,
        resource=_KINDS_BACK[ResourceType[_name(b.restype)]],
        name=b.name,
        pattern=PatternKind(_name(b.resource_pattern_type)),
        operation=Operation(_name(b.operation)),
        permission=Permission(_name(b.permission_type)),
        host=b.host,
    )


def to_filter(f: AclFilter) -> AclBindingFilter:
    return AclBindingFilter(
        _KINDS[f.resource] if f.resource is not None else ResourceType.ANY,
        f.name or _ANY,
        ResourcePatternType[f.pattern.value] if f.pattern is not None else ResourcePatternType.ANY,
        f.principal or _ANY,
        _ANY,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def exact_filter(a: AclEntry) -> AclBindingFilter:
    """A filter matching this one binding and nothing else."""
    return AclBindingFilter(
        _KINDS[a.resource],
        a.name,
        ResourcePatternType[a.pattern.value],
        a.principal,
        a.host,
        AclOperation[a.operation.value],
        AclPermissionType[a.permission.value],
    )


# A binding nobody has: deleting it changes nothing, but the answer says whether ACLs work here.
PROBE = exact_filter(
    AclEntry(
        "User:topicscope-probe",
        ResourceKind.TOPIC,
        "topicscope.probe.no-such-binding",
        PatternKind.LITERAL,
        Operation.READ,
        Permission.ALLOW,
    )
)


class SecurityAdmin:
    """ACL and SCRAM calls on a cluster's admin client; every failure is phrased for the user."""

    def __init__(self, admin: ClusterAdmin) -> None:
        self._admin = admin

    @property
    def principal(self) -> str:
        """Who the app is on this cluster, as Kafka names it."""
        p = self._admin.profile
        if p.security_protocol.uses_sasl and p.username:
            return f"User:{p.username}"
        if p.security_protocol in (SecurityProtocol.SSL,) and p.cert_location:
            return "the user named by the client certificate's subject"
        return "User:ANONYMOUS"

    def _wait(self, fut: concurrent.futures.Future[Any], operation: str, what: str) -> Any:
        try:
            return self._admin.token.result(fut, self._admin.timeout + 2)
        except concurrent.futures.TimeoutError as exc:
            raise self._admin.service_error(TimeoutError("Request timed out")) from exc
        except KafkaException as exc:
            raise self.explain(exc, operation, what) from exc

    def explain(self, exc: KafkaException, operation: str, what: str) -> KafkaServiceError:
        err = exc.args[0] if exc.args else None
        code = err.code() if isinstance(err, KafkaError) else None
        if code == KafkaError.SECURITY_DISABLED:
            return KafkaServiceError(NO_AUTHORIZER)
        if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
            return self.refused(operation, what)
        return self._admin.service_error(exc)

    def refused(self, operation: str, what: str) -> KafkaServiceError:
        return KafkaServiceError(
            f"Not allowed to {what}: {self.principal} lacks the {operation} operation on the "
            f"CLUSTER resource. Ask an administrator for an ALLOW {operation} binding on the "
            "cluster, or connect as a super user."
        )

    # ---- ACLs ----------------------------------------------------------------------------

    def describe_acls(self, f: AclFilter) -> tuple[AclEntry, ...]:
        fut = self._admin.client.describe_acls(to_filter(f), request_timeout=self._admin.timeout)
        found = self._wait(fut, "DESCRIBE", "list ACLs")
        if not found:
            self._check_empty_is_true()
        return tuple(sorted(from_binding(b) for b in found if _known(b)))

    def _check_empty_is_true(self) -> None:
        """confluent-kafka 2.x answers DescribeAcls' top-level errors (SECURITY_DISABLED,
        CLUSTER_AUTHORIZATION_FAILED) with an empty list, so an empty list is checked: a delete
        matching no binding reports both errors per filter (and ALTER implies DESCRIBE), and the
        cluster's authorized operations tell a DESCRIBE-only user from one without it."""
        try:
            self._delete([PROBE])
            return
        except KafkaServiceError as exc:
            if str(exc) == NO_AUTHORIZER:
                raise
        if not self._granted(AclOperation.DESCRIBE):
            raise self.refused("DESCRIBE", "list ACLs")

    def _granted(self, op: AclOperation) -> bool:
        fut = self._admin.client.describe_cluster(
            include_authorized_operations=True, request_timeout=self._admin.timeout
        )
        ops = self._wait(fut, op.name, "describe the cluster").authorized_operations or []
        return any(o in (op, AclOperation.ALL) for o in ops)

    def create_acl(self, acl: AclEntry) -> AclEntry:
        binding = to_binding(acl)
        futs = self._admin.client.create_acls([binding], request_timeout=self._admin.timeout)
        self._wait(futs[binding], "ALTER", "create ACLs")
        return acl

    def delete_acls(self, f: AclFilter) -> tuple[AclEntry, ...]:
        """Delete what `f` matches; returns the bindings the cluster says it removed."""
        return self._delete([to_filter(f)])

    def _delete(self, filters: list[AclBindingFilter]) -> tuple[AclEntry, ...]:
        futs = self._admin.client.delete_acls(filters, request_timeout=self._admin.timeout)
        gone: set[AclEntry] = set()
        for flt in filters:
            found = self._wait(futs[flt], "ALTER", "delete ACLs")
            gone.update(from_binding(b) for b in found if _known(b))
        return tuple(sorted(gone))

    def delete_exact(self, acls: tuple[AclEntry, ...]) -> tuple[AclEntry, ...]:
        """Delete exactly these bindings (the preview), one exact filter each."""
        if not acls:
            return ()
        return self._delete([exact_filter(a) for a in acls])

    # ---- SCRAM users ---------------------------------------------------------------------

    def _may_describe_cluster(self) -> bool:
        """Whether DESCRIBE on the cluster is granted, asked before DescribeUserScramCredentials:
        librdkafka 2.x aborts the whole process (free(): invalid pointer) when that request is
        answered with a top-level error such as CLUSTER_AUTHORIZATION_FAILED."""
        if self._granted(AclOperation.DESCRIBE):
            return True
        try:  # none listed: none granted, or no authorizer at all (then nothing is refused)
            self._delete([PROBE])
        except KafkaServiceError as exc:
            return str(exc) == NO_AUTHORIZER
        return True

    def scram_users(self) -> tuple[ScramUser, ...]:
        if not self._may_describe_cluster():
            raise self.refused("DESCRIBE", "list SCRAM users")
        fut = cast(
            concurrent.futures.Future[Any],
            self._admin.client.describe_user_scram_credentials(request_timeout=self._admin.timeout),
        )
        found = self._wait(fut, "DESCRIBE", "list SCRAM users")
        users = []
        for name, desc in sorted(found.items()):
            creds = tuple(
                sorted(
                    (_MECHANISM_NAMES.get(c.mechanism, str(c.mechanism)), int(c.iterations))
                    for c in desc.scram_credential_infos
                )
            )
            users.append(ScramUser(name, creds))
        return tuple(users)

    def set_password(self, change: ScramChange) -> None:
        """Add the user, or change their password for one mechanism (the password goes nowhere
        but this request)."""
        user = change.user
        info = ScramCredentialInfo(MECHANISMS[change.mechanism], change.iterations)
        upsert = UserScramCredentialUpsertion(user, info, change.password.encode())
        futs = self._admin.client.alter_user_scram_credentials(
            [upsert], request_timeout=self._admin.timeout
        )
        self._wait(futs[user], "ALTER", "change SCRAM users")

    def delete_user(self, user: ScramUser) -> None:
        """Remove every mechanism the user has."""
        dels = [UserScramCredentialDeletion(user.name, MECHANISMS[m]) for m, _ in user.credentials]
        if not dels:
            return
        futs = self._admin.client.alter_user_scram_credentials(
            list(dels), request_timeout=self._admin.timeout
        )
        self._wait(futs[user.name], "ALTER", "change SCRAM users")
