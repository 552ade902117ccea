"""Security jobs on the cluster's runner: ACLs and SCRAM users, each with the action deadline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from desktop.domain.acl import (
    AclEntry,
    AclFilter,
    Decision,
    ResourceKind,
    ScramChange,
    ScramUser,
    topic_rights,
)
from desktop.services.admin import ClusterAdmin
from desktop.services.security import SecurityAdmin
from desktop.workers.jobs import Job
from desktop.workers.session import ClusterSession

Failed = Callable[[str], None]
Done = Callable[[Any], None]
Acls = tuple[AclEntry, ...]


class SecurityJobs:
    """What the Security screens ask of a cluster; results come back on the GUI thread."""

    def __init__(self, session: ClusterSession) -> None:
        self.session = session

    def _run(
        self, name: str, work: Callable[[SecurityAdmin], Any], done: Done, error: Failed
    ) -> Job:
        def on_admin(admin: ClusterAdmin) -> Any:
            return work(SecurityAdmin(admin))

        return self.session.run(name, on_admin, done, error)

    def list_acls(
        self, f: AclFilter, done: Callable[[tuple[AclEntry, ...]], None], error: Failed
    ) -> Job:
        return self._run("list ACLs", lambda s: s.describe_acls(f), done, error)

    def create_acl(self, acl: AclEntry, done: Callable[[AclEntry], None], error: Failed) -> Job:
        return self._run("create ACL", lambda s: s.create_acl(acl), done, error)

    def delete_acls(self, acls: Acls, done: Callable[[Acls], None], error: Failed) -> Job:
        """Delete exactly the previewed bindings, nothing a broader filter would also catch."""
        return self._run("delete ACLs", lambda s: s.delete_exact(acls), done, error)

    def topic_rights(
        self,
        principal: str,
        topic: str,
        host: str,
        done: Callable[[tuple[Decision, ...]], None],
        error: Failed,
    ) -> Job:
        def work(s: SecurityAdmin) -> tuple[Decision, ...]:
            bindings = s.describe_acls(AclFilter(resource=ResourceKind.TOPIC))
            return topic_rights(bindings, principal, topic, host)

        return self._run("check topic rights", work, done, error)

    def list_users(self, done: Callable[[tuple[ScramUser, ...]], None], error: Failed) -> Job:
        return self._run("list SCRAM users", lambda s: s.scram_users(), done, error)

    def set_password(self, change: ScramChange, done: Done, error: Failed) -> Job:
        return self._run("set SCRAM password", lambda s: s.set_password(change), done, error)

    def delete_user(self, user: ScramUser, done: Callable[[None], None], error: Failed) -> Job:
        return self._run("delete SCRAM user", lambda s: s.delete_user(user), done, error)
