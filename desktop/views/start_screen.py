"""The start screen: the local broker front and centre, and saved cluster profiles."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, SignalInstance, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import LocalBrokerInfo
from desktop.domain.local import LOCAL_SIGN_IN_SECRET
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.connection import probe_bootstrap
from desktop.services.probe import PROBE_DEADLINE_S
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.views.local_cluster_card import LocalClusterCard
from desktop.views.local_sign_in import LocalSignInForm
from desktop.views.password_prompt import PasswordPrompt
from desktop.views.widgets.common import hint, set_role
from desktop.views.widgets.local_card import LocalCard
from desktop.workers.jobs import Job
from desktop.workers.local_broker import LocalBroker, default_local_data_dir
from desktop.workers.local_cluster import LocalCluster
from desktop.workers.runner import JobRunner


class StartScreen(QWidget):
    add_requested = Signal()
    edit_requested = Signal(str)
    delete_requested = Signal(str)
    connect_requested = Signal(str)
    open_local_requested = Signal()
    open_cluster_requested = Signal()

    def __init__(
        self, profiles: ProfileStore, local: LocalBroker, cluster: LocalCluster | None = None
    ) -> None:
        super().__init__()
        self._profiles = profiles
        self._local = local
        self.password_prompt: PasswordPrompt | None = None
        self._keyring_job: Job | None = None
        self._probe_job: Job | None = None
        style = self.style()

        title = QLabel("Topicscope")
        title.setStyleSheet("font-size: 28px; font-weight: 700;")
        set_role(title, "title")  # the theme's colour: the light one vanished on dark
        subtitle = hint("Explore Kafka clusters — or start a broker of your own with one click.")

        # Local broker card
        card = LocalCard(
            "Local broker",
            "A Kafka-compatible broker built into Topicscope. Its data persists between runs.",
            "Address",
        )
        self.local_card = card
        self.local_badge = card.badge
        self.local_address = card.address
        self.local_data_dir = card.data_dir
        self.local_error = card.error
        self.start_local = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start local broker"
        )
        self.start_local.setObjectName("primary")
        self.start_local.setMinimumHeight(40)
        self.stop_local = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop"
        )
        self.restart_local = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Restart"
        )
        self.open_local = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open"
        )
        self.sign_in = LocalSignInForm()
        card.add_buttons(
            self.start_local,
            (self.sign_in, 1),  # shown with the start button: one row, not two
            self.open_local,
            self.restart_local,
            self.stop_local,
        )

        # Profiles
        clusters_title = QLabel("Saved clusters")
        clusters_title.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.add_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder), "Add cluster…"
        )
        self.profile_list = QListWidget()
        self.profile_list.setMinimumHeight(120)
        self.profile_list.itemDoubleClicked.connect(self._connect_item)
        self.empty_hint = hint("No saved clusters yet. Add one to connect to a remote Kafka.")
        self.connect_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton), "Connect"
        )
        self.connect_error = QLabel("")
        self.connect_error.setWordWrap(True)
        set_role(self.connect_error, "error")
        self.connect_error.setVisible(False)
        self.edit_button = QPushButton("Edit…")
        self.delete_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon), "Delete"
        )
        profile_buttons = QHBoxLayout()
        profile_buttons.addWidget(self.add_button)
        profile_buttons.addStretch(1)
        profile_buttons.addWidget(self.connect_button)
        profile_buttons.addWidget(self.edit_button)
        profile_buttons.addWidget(self.delete_button)

        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(12)
        column.addWidget(card)
        self.cluster_card: LocalClusterCard | None = None
        if cluster is not None:
            self.cluster_card = LocalClusterCard(cluster)
            self.cluster_card.open_requested.connect(self.open_cluster_requested)
            column.addSpacing(8)
            column.addWidget(self.cluster_card)
        column.addSpacing(16)
        column.addWidget(clusters_title)
        column.addWidget(self.empty_hint)
        column.addWidget(self.profile_list)
        column.addLayout(profile_buttons)
        column.addWidget(self.connect_error)
        column.addStretch(1)
        content = QWidget()
        outer = QHBoxLayout(content)
        outer.addStretch(1)
        inner = QWidget()
        inner.setLayout(column)
        inner.setMaximumWidth(720)
        inner.setMinimumWidth(520)
        outer.addWidget(inner, 4)
        outer.addStretch(1)
        # Two cards and the profile list are taller than a 640-pixel window: the page scrolls
        # rather than forcing the window's minimum size up.
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        page = QVBoxLayout(self)
        page.setContentsMargins(0, 0, 0, 0)
        page.addWidget(scroll)

        self.start_local.clicked.connect(self._start_local)
        self.stop_local.clicked.connect(local.stop)
        self.restart_local.clicked.connect(local.restart)
        self.open_local.clicked.connect(self.open_local_requested)
        self.add_button.clicked.connect(self.add_requested)
        self.connect_button.clicked.connect(self._connect_selected)
        self.edit_button.clicked.connect(lambda: self._emit_selected(self.edit_requested))
        self.delete_button.clicked.connect(lambda: self._emit_selected(self.delete_requested))
        self.profile_list.currentRowChanged.connect(lambda _row: self._update_buttons())
        local.started.connect(self._on_local_started)
        local.stopped.connect(self._update_local)
        local.failed.connect(self._on_local_failed)
        local.busy_changed.connect(self._local_busy_changed)  # bound: dropped with this screen
        self.reload_profiles()
        self._update_local()

    def _local_busy_changed(self, _busy: bool) -> None:
        self._update_local()

    def reload_profiles(self) -> None:
        self.profile_list.clear()
        for p in self._profiles.all():
            item = QListWidgetItem(
                self.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon),
                f"{p.name}    —    {p.bootstrap}    ({p.security_protocol.value})",
            )
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            self.profile_list.addItem(item)
        has = self.profile_list.count() > 0
        self.profile_list.setVisible(has)
        self.empty_hint.setVisible(not has)
        if has:
            self.profile_list.setCurrentRow(0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.profile_list.currentItem() is not None
        for b in (self.connect_button, self.edit_button, self.delete_button):
            b.setVisible(self.profile_list.count() > 0)
            b.setEnabled(selected)

    def _emit_selected(self, signal: SignalInstance) -> None:
        item = self.profile_list.currentItem()
        if item is not None:
            signal.emit(item.data(Qt.ItemDataRole.UserRole))

    @Slot(QListWidgetItem)
    def _connect_item(self, item: QListWidgetItem) -> None:
        self.request_connect(item.data(Qt.ItemDataRole.UserRole))

    @Slot()
    def _connect_selected(self) -> None:
        item = self.profile_list.currentItem()
        if item is not None:
            self.request_connect(item.data(Qt.ItemDataRole.UserRole))

    def _app(self) -> tuple[SecretStore, JobRunner] | None:
        # the main window carries the AppContext; a bare start screen (tests) has none
        ctx = getattr(self.window(), "ctx", None)
        secrets, jobs = getattr(ctx, "secrets", None), getattr(ctx, "jobs", None)
        if isinstance(secrets, SecretStore) and isinstance(jobs, JobRunner):
            return secrets, jobs
        return None

    def request_connect(self, name: str) -> None:
        """Connect after a ≤ 2 s probe of the first bootstrap server: a port that answers as
        something other than the profile's Kafka listener is named here, at once, instead of
        after the cluster view's refresh deadline. Then a SASL profile without a stored
        password asks for it."""
        profile = self._profiles.get(name)
        app = self._app()
        self.connect_error.setVisible(False)
        if profile is None or app is None:
            self.connect_requested.emit(name)
            return
        protocol = profile.security_protocol.value
        job = Job(
            "probe the bootstrap server",
            lambda _c: probe_bootstrap(profile.bootstrap, protocol),
            deadline_s=PROBE_DEADLINE_S + 1,
        )
        job.finished.connect(lambda found: self._probed(profile, found))
        job.failed.connect(lambda _f: self._probed(profile, None))  # let the client try
        self._probe_job = job
        app[1].submit(job)

    def _probed(self, profile: ClusterProfile, found: str | None) -> None:
        if found:
            self.connect_error.setText(f"Not connecting to '{profile.name}': {found}")
            self.connect_error.setVisible(True)
            return
        app = self._app()
        if app is None or not profile.security_protocol.uses_sasl:
            self.connect_requested.emit(profile.name)
            return
        secrets, jobs = app
        name = profile.name
        job = Job("read the keyring", lambda _c: secrets.load(name), deadline_s=20)
        job.finished.connect(lambda creds: self._with_credentials(profile, creds, secrets))
        job.failed.connect(lambda _f: self.connect_requested.emit(name))  # it says why
        self._keyring_job = job
        jobs.submit(job)

    def _with_credentials(
        self, profile: ClusterProfile, creds: Credentials, secrets: SecretStore
    ) -> None:
        if not profile.needs_password(creds):
            self.connect_requested.emit(profile.name)
            return
        prompt = PasswordPrompt(profile, self)
        self.password_prompt = prompt

        def accepted() -> None:
            secrets.remember(profile.name, Credentials(prompt.password.text(), creds.key_password))
            self.connect_requested.emit(profile.name)

        prompt.accepted.connect(accepted)
        prompt.open()

    def restore_sign_in(self, username: str, secrets: SecretStore, jobs: JobRunner) -> None:
        """Offer the user the local broker last required, its password read from the keyring
        in a job."""
        if not username:
            return
        form = self.sign_in
        form.required.setChecked(True)
        form.username.setText(username)

        def fill(creds: Credentials) -> None:
            if not form.password.text() and form.username.text() == username:
                form.password.setText(creds.password)

        job = Job(
            "read the local broker's password",
            lambda _c: secrets.load(LOCAL_SIGN_IN_SECRET),
            deadline_s=20,
        )
        job.finished.connect(fill)
        self._keyring_job = job
        jobs.submit(job)

    @Slot()
    def _start_local(self) -> None:
        """Start the local broker, requiring the form's user when asked; the password goes to
        the keyring in a job (and into memory at once, for the tab the start opens)."""
        problem = self.sign_in.problem()
        if problem:
            self.local_error.setText(problem)
            return
        sign_in = self.sign_in.value()
        self._local.sign_in = sign_in
        ui = getattr(getattr(self.window(), "ctx", None), "ui", None)
        if ui is not None:  # the next launch offers the same user
            ui.local_sign_in_user = sign_in.username if sign_in else ""
        app = self._app()
        if sign_in is not None and app is not None:
            secrets, jobs = app
            creds = Credentials(sign_in.password)
            secrets.remember(LOCAL_SIGN_IN_SECRET, creds)
            jobs.submit(
                Job(
                    "keep the local broker's password in the keyring",
                    lambda _c: secrets.save(LOCAL_SIGN_IN_SECRET, creds, session_only=False),
                    deadline_s=20,
                )
            )
        self._local.start()

    @Slot(object)
    def _on_local_started(self, info: LocalBrokerInfo) -> None:
        self.local_error.setText("")
        self._update_local()

    @Slot(str)
    def _on_local_failed(self, message: str) -> None:
        self.local_error.setText(message)
        self._update_local()

    @Slot()
    def _update_local(self) -> None:
        local = self._local
        info = local.info
        if local.busy:
            self.local_badge.setText("working…")
            self.local_badge.set_kind("warn")
        elif info:
            self.local_badge.setText("running")
            self.local_badge.set_kind("ok")
        else:
            self.local_badge.setText("stopped")
            self.local_badge.set_kind("info")
        self.local_address.setText(info.bootstrap if info else "—")
        if info:
            data_dir = info.data_dir
        else:
            planned = local.data_dir or default_local_data_dir()
            data_dir = str(planned) if planned else "platform data directory"
        self.local_data_dir.setText(data_dir)
        self.start_local.setVisible(info is None)
        self.start_local.setEnabled(not local.busy)
        self.sign_in.setVisible(info is None)
        self.sign_in.setEnabled(not local.busy)
        for b in (self.stop_local, self.restart_local, self.open_local):
            b.setVisible(info is not None)
            b.setEnabled(not local.busy)
