"""The connection profile dialog: address, security, certificates, extra properties, test."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ConnectionResult
from desktop.domain.profile import (
    ClusterProfile,
    Credentials,
    SaslMechanism,
    SecurityProtocol,
    parse_extra_properties,
)
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.views.widgets.common import set_role
from desktop.workers.connection_test import connection_test_job
from desktop.workers.jobs import Job, JobFailure
from desktop.workers.runner import JobRunner

KEYRING_DEADLINE_S = 20.0
MESSAGE_LINES = 4  # the message area's height: longer messages scroll inside it


class _PathField(QWidget):
    def __init__(self, caption: str, filters: str) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("PEM or PKCS#12 (.p12/.pfx) file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(caption, filters))
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def _browse(self, caption: str, filters: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, caption, "", filters)
        if path:
            self.edit.setText(path)


class ProfileDialog(QDialog):
    """Create or edit a profile. Passwords go to the keyring, never to the profiles file."""

    def __init__(
        self,
        store: ProfileStore,
        secrets: SecretStore,
        jobs: JobRunner,
        profile: ClusterProfile | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit cluster" if profile else "Add cluster")
        self.setMinimumWidth(520)
        self._store = store
        self._secrets = secrets
        self._original = profile.name if profile else None
        self.saved: ClusterProfile | None = None
        self.connect_after = False  # "Save and connect": the window opens the cluster
        self._jobs = jobs
        self.test_job: Job | None = None

        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. production")
        self.bootstrap = QLineEdit()
        self.bootstrap.setPlaceholderText("host1:9092,host2:9092")
        self.protocol = QComboBox()
        self.protocol.addItems([p.value for p in SecurityProtocol])
        self.mechanism = QComboBox()
        self.mechanism.addItems([m.value for m in SaslMechanism])
        self.mechanism.setCurrentText(SaslMechanism.SCRAM_SHA_512.value)
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca = _PathField("CA certificate", "Certificates (*.pem *.crt *.cer);;All files (*)")
        self.cert = _PathField(
            "Client certificate", "Certificates (*.pem *.crt *.p12 *.pfx);;All files (*)"
        )
        self.key = _PathField("Client key", "Keys (*.pem *.key);;All files (*)")
        self.key_password = QLineEdit()
        self.key_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_password.setPlaceholderText("key or PKCS#12 passphrase, if any")
        self.verify = QCheckBox("Verify the broker's host name")
        self.verify.setChecked(True)
        self.extra = QPlainTextEdit()
        self.extra.setPlaceholderText(
            "one librdkafka property per line, e.g.\nclient.id=topicscope"
        )
        self.extra.setMinimumHeight(70)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Bootstrap servers", self.bootstrap)
        form.addRow("Security protocol", self.protocol)
        form.addRow("SASL mechanism", self.mechanism)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("CA certificate", self.ca)
        form.addRow("Client certificate", self.cert)
        form.addRow("Client key", self.key)
        form.addRow("Key passphrase", self.key_password)
        form.addRow("", self.verify)
        form.addRow("Extra properties", self.extra)
        self._form = form

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        self.test_result.setObjectName("testResult")
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = QLabel("")
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.save_connect = self.buttons.addButton(
            "Save and connect", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_connect.setToolTip("Save the cluster and open it in a new tab")
        self.save_connect.clicked.connect(self.save_and_connect)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(self._message_row())
        layout.addWidget(self.buttons)

        self.protocol.currentTextChanged.connect(self._update_enabled)
        if profile:
            self._fill(profile, Credentials())
            self._load_secrets(profile.name)
        self._update_enabled()

    def _message_row(self) -> QHBoxLayout:
        """Test connection beside a message area of fixed height: a long error scrolls inside
        it instead of growing the dialog over the form or moving the buttons."""
        inner = QWidget()
        inner.setObjectName("messageArea")
        box = QVBoxLayout(inner)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.test_result)
        box.addWidget(self.error)
        box.addStretch(1)
        self.messages = QScrollArea()
        self.messages.setWidget(inner)
        self.messages.setWidgetResizable(True)
        self.messages.setFrameShape(QScrollArea.Shape.NoFrame)
        self.messages.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.messages.setFixedHeight(self.fontMetrics().lineSpacing() * MESSAGE_LINES + 4)
        row = QHBoxLayout()
        row.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.messages, 1)
        return row

    def _load_secrets(self, name: str) -> None:
        """The saved passwords arrive from the keyring (a D-Bus call) by job."""
        job = Job("read the keyring", lambda _c: self._secrets.load(name), deadline_s=20)
        job.finished.connect(self._on_secrets)
        self._jobs.submit(job)

    def _on_secrets(self, creds: Credentials) -> None:
        if not self.password.text():
            self.password.setText(creds.password)
        if not self.key_password.text():
            self.key_password.setText(creds.key_password)

    def _fill(self, p: ClusterProfile, creds: Credentials) -> None:
        self.name.setText(p.name)
        self.bootstrap.setText(p.bootstrap)
        self.protocol.setCurrentText(p.security_protocol.value)
        self.mechanism.setCurrentText(p.sasl_mechanism.value)
        self.username.setText(p.username)
        self.password.setText(creds.password)
        self.ca.edit.setText(p.ca_location)
        self.cert.edit.setText(p.cert_location)
        self.key.edit.setText(p.key_location)
        self.key_password.setText(creds.key_password)
        self.verify.setChecked(p.verify_hostname)
        self.extra.setPlainText("\n".join(f"{k}={v}" for k, v in p.extra))

    @Slot()
    def _update_enabled(self) -> None:
        proto = SecurityProtocol(self.protocol.currentText())
        sasl: list[QWidget] = [self.mechanism, self.username, self.password]
        tls: list[QWidget] = [self.ca, self.cert, self.key, self.key_password, self.verify]
        for widgets, used, why in (
            (sasl, proto.uses_sasl, "SASL_PLAINTEXT or SASL_SSL"),
            (tls, proto.uses_tls, "SSL or SASL_SSL"),
        ):
            for widget in widgets:
                widget.setEnabled(used)
                widget.setToolTip("" if used else f"Used only with {why}.")
                label = self._form.labelForField(widget)
                if label is not None:  # the label greys out with its field
                    label.setEnabled(used)

    def profile(self) -> ClusterProfile:
        """The profile as entered; raises ValueError with a user message when incomplete."""
        name = self.name.text().strip()
        bootstrap = self.bootstrap.text().strip()
        if not name:
            raise ValueError("Give the cluster a name.")
        if not bootstrap:
            raise ValueError("Enter at least one bootstrap server as host:port.")
        for server in bootstrap.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"'{server.strip()}' is not host:port.")
        return ClusterProfile(
            name=name,
            bootstrap=bootstrap,
            security_protocol=SecurityProtocol(self.protocol.currentText()),
            sasl_mechanism=SaslMechanism(self.mechanism.currentText()),
            username=self.username.text().strip(),
            ca_location=self.ca.edit.text().strip(),
            cert_location=self.cert.edit.text().strip(),
            key_location=self.key.edit.text().strip(),
            verify_hostname=self.verify.isChecked(),
            extra=parse_extra_properties(self.extra.toPlainText()),
        )

    def credentials(self) -> Credentials:
        return Credentials(self.password.text(), self.key_password.text())

    @Slot()
    def test_connection(self) -> None:
        try:
            profile = self.profile()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.test_button.setEnabled(False)
        set_role(self.test_result, "muted")
        self.test_result.setText("Testing…")
        job = connection_test_job(profile, self.credentials())
        job.finished.connect(self._on_tested)
        job.failed.connect(
            lambda f: self._on_tested(ConnectionResult(False, f.message, cause="error"))
        )
        self.test_job = job
        self._jobs.submit(job)

    def done(self, result: int) -> None:
        """Closed (saved, cancelled or the window's X): a test still running is cancelled, so
        its client and thread end now instead of when its timeout runs out."""
        if self.test_job is not None:
            self.test_job.cancel()
        super().done(result)

    @Slot(object)
    def _on_tested(self, result: ConnectionResult) -> None:
        self.test_button.setEnabled(True)
        set_role(self.test_result, "ok" if result.ok else "error")
        self.test_result.setText(result.message)
        self.last_result = result

    @Slot()
    def save_and_connect(self) -> None:
        self.connect_after = True
        self.save()
        if self.saved is None and self.buttons.isEnabled():  # not saved, and not pending
            self.connect_after = False

    @Slot()
    def save(self) -> None:
        try:
            profile = self.profile()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        if self._original != profile.name and self._store.get(profile.name):
            self.error.setText(f"A cluster named '{profile.name}' already exists.")
            return
        creds = self.credentials()
        session_only = False
        has_secret = bool(creds.password or creds.key_password)
        available = self._secrets.known_available()
        if has_secret and available is None:
            self._probe_then_save()
            return
        if has_secret and not available:
            answer = QMessageBox.question(
                self,
                "No keyring available",
                "No system keyring (Secret Service, KWallet, macOS Keychain or Windows "
                "Credential Locker) is available, so passwords cannot be saved securely.\n\n"
                "Keep the password in memory for this session only? You will be asked for it "
                "again next time. It is never written to the profiles file.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            session_only = True
        self._store.put(profile, replacing=self._original)
        self._secrets.remember(profile.name, creds)
        if not session_only:
            name, secrets = profile.name, self._secrets
            self._jobs.submit(
                Job(
                    "save to the keyring",
                    lambda _c: secrets.save(name, creds, session_only=False),
                    deadline_s=KEYRING_DEADLINE_S,
                )
            )
        self.saved = profile
        self.accept()

    def _probe_then_save(self) -> None:
        """Whether a keyring exists is a D-Bus question: ask it in a job, then save."""
        self.buttons.setEnabled(False)
        secrets = self._secrets
        job = Job(
            "look for a keyring",
            lambda _c: secrets.keyring_available,
            deadline_s=KEYRING_DEADLINE_S,
        )

        def then(_result: object) -> None:
            self.buttons.setEnabled(True)
            if secrets.known_available() is None:  # the backend changed again meanwhile
                self.error.setText("Could not reach the system keyring; try again.")
                return
            self.save()

        def failed(failure: JobFailure) -> None:
            self.buttons.setEnabled(True)
            self.error.setText(f"Could not reach the system keyring: {failure.message}")

        job.finished.connect(then)
        job.failed.connect(failed)
        self._jobs.submit(job)
