"""Screenshots of the Security screens against a built-in broker started with an authorizer.

The broker, its users and their throw-away passwords exist only for the run (a temporary
directory); the bindings are sample data."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from confluent_kafka.admin import AdminClient
from PySide6.QtWidgets import QApplication

from desktop.domain.acl import AclEntry, Operation, PatternKind, Permission, ResourceKind
from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol
from desktop.services.security import to_binding
from desktop.tools.capture import grab, pause, spin
from desktop.views.security import SecurityPage
from desktop.views.theme import StyleSheets, Theme, apply_theme
from desktop.workers.session import ClusterSession
from embedded_broker.runner import BrokerRunner

SIZE = (1400, 760)
SHEETS = StyleSheets.bundled()  # a tool, read at import: no window is up yet
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
T, G = ResourceKind.TOPIC, ResourceKind.GROUP
L, P = PatternKind.LITERAL, PatternKind.PREFIXED
SAMPLE = (
    AclEntry("User:orders-app", T, "orders.", P, Operation.WRITE, Permission.ALLOW),
    AclEntry("User:orders-app", T, "orders.audit", L, Operation.WRITE, Permission.DENY),
    AclEntry("User:billing", T, "orders.", P, Operation.READ, Permission.ALLOW),
    AclEntry("User:billing", G, "billing-", P, Operation.READ, Permission.ALLOW),
    AclEntry("User:*", T, "public.status", L, Operation.DESCRIBE, Permission.ALLOW),
    AclEntry("User:analytics", T, "*", L, Operation.READ, Permission.ALLOW),
)


def _broker(root: Path, password: str) -> BrokerRunner:
    users = [("SCRAM-SHA-512", "admin", password, 8192)]
    users += [("SCRAM-SHA-512", u, secrets.token_hex(8), 4096) for u in ("orders-app", "billing")]
    users.append(("SCRAM-SHA-256", "analytics", secrets.token_hex(8), 4096))
    config = {
        "listeners": "SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
        "authorizer.class.name": AUTHORIZER,
        "super.users": "User:admin",
    }
    runner = BrokerRunner(port=0, data_dir=root, config=config, scram_users=users)
    runner.start()
    return runner


def render_security_screens(out: Path, app: QApplication) -> None:
    """security-acls.png, -create.png, -delete.png, -users.png, -check.png, -acls-dark.png."""
    password = secrets.token_hex(12)
    with tempfile.TemporaryDirectory(prefix="topicscope-sec-", ignore_cleanup_errors=True) as tmp:
        runner = _broker(Path(tmp), password)
        bootstrap = runner.listeners["SASL_PLAINTEXT"].bootstrap
        admin = AdminClient(
            {
                "bootstrap.servers": bootstrap,
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": "admin",
                "sasl.password": password,
            }
        )
        bindings = [to_binding(a) for a in SAMPLE]
        for fut in admin.create_acls(bindings).values():
            fut.result(15)
        profile = ClusterProfile(
            "secured (sample)",
            bootstrap,
            SecurityProtocol.SASL_PLAINTEXT,
            SaslMechanism.SCRAM_SHA_512,
            "admin",
        )
        session = ClusterSession(profile, Credentials(password=password), refresh_s=3600)
        page = SecurityPage(session)
        page.resize(*SIZE)
        page.show()
        spin(app, lambda: page.acls.loaded and page.users.loaded)
        pause(app, 0.3)
        grab(page, out / "security-acls.png")
        form = page.acls.form
        form.principal.setText("User:billing")
        form.name.setText("invoices.")
        form.pattern.setCurrentText("PREFIXED")
        form.operation.setCurrentText("WRITE")
        pause(app, 0.3)
        grab(page, out / "security-create.png")
        page.acls.filter.principal.setText("User:orders-app")
        page.acls.preview_delete()
        spin(app, page.acls.confirm_button.isVisible)
        pause(app, 0.3)
        grab(page, out / "security-delete.png")
        page.acls.confirm_button.setVisible(False)  # a picture only: nothing is deleted
        page.tabs.setCurrentWidget(page.users)
        pause(app, 0.3)
        grab(page, out / "security-users.png")
        page.tabs.setCurrentWidget(page.rights)
        page.rights.principal.setText("User:orders-app")
        page.rights.topic.setText("orders.audit")
        page.rights.check()
        spin(app, lambda: bool(page.rights.model.rows))
        pause(app, 0.3)
        grab(page, out / "security-check.png")
        apply_theme(app, Theme.DARK, SHEETS)
        page.tabs.setCurrentWidget(page.acls)
        page.acls.clear_preview()
        pause(app, 0.5)
        grab(page, out / "security-acls-dark.png")
        apply_theme(app, Theme.LIGHT, SHEETS)
        page.close()
        session.close()
        runner.stop()


if __name__ == "__main__":
    from desktop.app import create_application

    target = Path("docs/screenshots")
    target.mkdir(parents=True, exist_ok=True)
    render_security_screens(target, create_application())
