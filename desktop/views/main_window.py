"""The main window: a start tab plus one tab per open cluster, and a status bar."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStyle,
    QTabWidget,
    QToolBar,
    QWidget,
)

from desktop.context import AppContext
from desktop.domain.cluster import LocalBrokerInfo
from desktop.domain.local import LocalClusterInfo
from desktop.domain.profile import ClusterProfile, Credentials, SaslMechanism, SecurityProtocol
from desktop.settings.browser_prefs import BrowserPrefs
from desktop.settings.profiles import default_config_dir
from desktop.versions import collect as collect_versions
from desktop.views.about import AboutDialog
from desktop.views.cluster_view import ClusterView
from desktop.views.main_menu import MainMenu, find_target
from desktop.views.profile_dialog import ProfileDialog
from desktop.views.start_screen import StartScreen
from desktop.views.theme import Theme, ThemeController, parse_theme, tinted
from desktop.workers.jobs import Job
from desktop.workers.local_broker import default_local_data_dir
from desktop.workers.local_cluster import LocalCluster, default_cluster_dir
from desktop.workers.session import ClusterSession, SessionState

LOCAL_NAME = "Local broker"
CLUSTER_NAME = "Local cluster"
WINDOW_TITLE = "Topicscope"
STATUS_TIMEOUT_MS = 8_000  # transient status-bar messages clear themselves


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(WINDOW_TITLE)
        self.setObjectName("topicscope-main")
        self.resize(1280, 820)
        geometry = ctx.ui.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.profile_dialog: ProfileDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self._stopping: list[Job] = []
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.theme = ThemeController(app, ctx.styles, parse_theme(ctx.ui.theme), parent=self)

        self.start = StartScreen(ctx.profiles, ctx.local, ctx.cluster)
        self.start.restore_sign_in(ctx.ui.local_sign_in_user, ctx.secrets, ctx.jobs)
        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.addTab(
            self.start, self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon), "Start"
        )
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(lambda _i: self._update_status())
        self.setCentralWidget(self.tabs)

        style = self.style()
        toolbar = QToolBar("Main")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.home_action = QAction(
            style.standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon), "Start", self
        )
        self.home_action.triggered.connect(lambda: self.tabs.setCurrentIndex(0))
        self.add_action = QAction(
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder), "Add cluster…", self
        )
        self.add_action.triggered.connect(self.add_profile)
        self.local_action = QAction(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start local broker", self
        )
        self.local_action.triggered.connect(self._toggle_local)
        for action in (self.home_action, self.add_action, self.local_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)

        self.menu = menu = MainMenu(self)
        menu.new_cluster.triggered.connect(self.add_profile)
        menu.close_tab.triggered.connect(lambda: self.close_tab(self.tabs.currentIndex()))
        menu.quit.triggered.connect(self.close)
        menu.refresh.triggered.connect(self.refresh_current)
        menu.find.triggered.connect(self.focus_find)
        menu.send.triggered.connect(self.send_current)
        menu.start_local.triggered.connect(ctx.local.start)
        menu.stop_local.triggered.connect(ctx.local.stop)
        menu.start_cluster.triggered.connect(ctx.cluster.start)
        menu.stop_cluster.triggered.connect(ctx.cluster.stop)
        menu.about.triggered.connect(self.show_about)
        menu.show_theme(self.theme.theme)
        self.theme.changed.connect(lambda _t: self._update_local_action())  # icon colour
        menu.theme_group.triggered.connect(lambda a: self.set_theme(parse_theme(a.data())))
        self.tabs.currentChanged.connect(lambda _i: self._update_actions())

        self.status_cluster = QLabel("No cluster")
        self.status_state = QLabel("")
        self.status_refresh = QLabel("")
        bar = self.statusBar()
        bar.addWidget(self.status_cluster)
        bar.addWidget(self.status_state)
        bar.addPermanentWidget(self.status_refresh)

        self.start.add_requested.connect(self.add_profile)
        self.start.edit_requested.connect(self.edit_profile)
        self.start.delete_requested.connect(self.delete_profile)
        self.start.connect_requested.connect(self.connect_profile)
        self.start.open_local_requested.connect(self._open_local_tab)
        self.start.open_cluster_requested.connect(self._open_cluster_tab)
        ctx.cluster.started.connect(self._on_cluster_started)
        ctx.cluster.stopped.connect(self._update_status)
        # the handles outlive this window: bound methods, which Qt disconnects when the
        # window is deleted (a lambda would still run on a deleted window)
        for signal in (ctx.cluster.started, ctx.cluster.stopped, ctx.cluster.busy_changed):
            signal.connect(self._cluster_changed)
        ctx.local.started.connect(self._on_local_started)
        ctx.local.busy_changed.connect(self._local_busy_changed)
        ctx.local.stopped.connect(self._update_local_action)
        ctx.local.stopped.connect(self._update_status)
        self._update_status()
        self._update_actions()
        self._update_local_action()
        self._update_cluster_actions()
        # the first thing a keyboard user wants is the list of clusters, not a spin box
        first = self.start.profile_list
        (self.start.start_local if first.isHidden() else first).setFocus()

    # ---- cluster tabs --------------------------------------------------------------------

    def cluster_views(self) -> list[ClusterView]:
        return [
            w for i in range(self.tabs.count()) if isinstance(w := self.tabs.widget(i), ClusterView)
        ]

    def find_view(self, name: str) -> ClusterView | None:
        return next((v for v in self.cluster_views() if v.session.profile.name == name), None)

    def open_cluster(
        self, profile: ClusterProfile, creds: Credentials, local: LocalCluster | None = None
    ) -> ClusterView:
        existing = self.find_view(profile.name)
        if existing is not None:
            self.tabs.setCurrentWidget(existing)
            return existing
        ui = self.ctx.ui
        session = ClusterSession(profile, creds, ui.refresh_interval_s, ui.request_timeout_s)
        view = ClusterView(session, ui.hide_internal, local, BrowserPrefs(ui.store))
        view.status_changed.connect(self._update_status)
        view.interval.valueChanged.connect(self._remember_interval)
        view.tabs.currentChanged.connect(lambda _i: self._update_actions())
        icon = (
            QStyle.StandardPixmap.SP_ComputerIcon
            if profile.local
            else QStyle.StandardPixmap.SP_DriveNetIcon
        )
        self.tabs.addTab(view, self.style().standardIcon(icon), profile.name)
        self.tabs.setCurrentWidget(view)
        view.tabs.tabBar().setFocus()  # arrows move between screens; Tab reaches the rest
        session.start()
        self._update_actions()
        return view

    @Slot(float)
    def _remember_interval(self, seconds: float) -> None:
        self.ctx.ui.refresh_interval_s = seconds

    @Slot(int)
    def close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if isinstance(widget, ClusterView):
            self.tabs.removeTab(index)
            widget.close_session()
            widget.deleteLater()

    # ---- menu actions ----------------------------------------------------------------------

    def current_page(self) -> QWidget | None:
        view = self.tabs.currentWidget()
        if isinstance(view, ClusterView):
            return view.tabs.currentWidget()
        return view

    @Slot()
    def refresh_current(self) -> None:
        view = self.tabs.currentWidget()
        if isinstance(view, ClusterView):
            view.session.refresh()
            self.statusBar().showMessage("Refreshing…", STATUS_TIMEOUT_MS)
        else:
            self.start.reload_profiles()

    @Slot()
    def focus_find(self) -> None:
        target = find_target(self.current_page())
        if target is not None:
            target.setFocus(Qt.FocusReason.ShortcutFocusReason)
            if isinstance(target, QLineEdit):
                target.selectAll()

    def _send_target(self) -> QWidget | None:
        page = self.current_page()
        button = getattr(page, "send_button", None)
        return page if callable(getattr(page, "send", None)) and button is not None else None

    @Slot()
    def send_current(self) -> None:
        page = self._send_target()
        button = getattr(page, "send_button", None)
        send = getattr(page, "send", None)
        if callable(send) and isinstance(button, QPushButton) and button.isEnabled():
            send()

    def _update_actions(self) -> None:
        is_cluster = isinstance(self.tabs.currentWidget(), ClusterView)
        self.menu.close_tab.setEnabled(is_cluster)
        self.menu.refresh.setEnabled(True)
        self.menu.send.setEnabled(self._send_target() is not None)
        self.menu.find.setEnabled(find_target(self.current_page()) is not None)

    def set_theme(self, theme: Theme) -> None:
        self.theme.set_theme(theme)
        self.ctx.ui.theme = theme.value
        self.menu.show_theme(theme)

    @Slot()
    def show_about(self) -> None:
        local = self.ctx.local
        places: list[tuple[str, Path | None]] = [
            ("Cluster profiles", self.ctx.profiles.directory or default_config_dir()),
            ("Settings", Path(self.ctx.ui.path) if self.ctx.ui.path else None),
            ("Built-in broker data", local.data_dir or default_local_data_dir()),
        ]
        self.about_dialog = AboutDialog(collect_versions(), places, self)
        self.about_dialog.open()

    def clusters_text(self) -> str:
        """The Start tab's status: clusters connected, apart from tabs that are not."""
        views = self.cluster_views()
        if not views:
            return "No clusters open"
        live = (SessionState.CONNECTED, SessionState.STALE)
        connected = sum(1 for v in views if v.session.state in live)
        text = f"{connected:,} {'cluster' if connected == 1 else 'clusters'} connected"
        others = len(views) - connected
        return f"{text}, {others:,} not connected" if others else text

    def _update_status(self) -> None:
        view = self.tabs.currentWidget()
        if isinstance(view, ClusterView):
            s = view.session
            self.status_cluster.setText(f"{s.profile.name} ({s.profile.bootstrap})")
            self.status_state.setText(s.state.value)
            self.status_refresh.setText(view.status_text())
        else:
            self.status_cluster.setText(self.clusters_text())
            self.status_state.setText("")
            info = self.ctx.local.info
            self.status_refresh.setText(f"local broker at {info.bootstrap}" if info else "")

    # ---- local broker --------------------------------------------------------------------

    @Slot(object)
    def _on_local_started(self, info: LocalBrokerInfo) -> None:
        self._update_local_action()
        view = self.find_view(LOCAL_NAME)
        if view is not None and view.session.profile != self._local_profile(info):
            self.close_tab(self.tabs.indexOf(view))
            view = None
        if view is None:
            self._open_local_tab()
        else:
            view.session.refresh()
        self._update_status()

    @Slot()
    def _cluster_changed(self, *_args: object) -> None:
        self._update_cluster_actions()

    def _local_busy_changed(self, _busy: bool) -> None:
        self._update_local_action()

    def _update_local_action(self) -> None:
        local = self.ctx.local
        running = local.running
        self.local_action.setEnabled(not local.busy)
        self.local_action.setText("Stop local broker" if running else "Start local broker")
        icon = QStyle.StandardPixmap.SP_MediaStop if running else QStyle.StandardPixmap.SP_MediaPlay
        # black glyphs: drawn in the theme's text colour so they show on light and dark
        text = self.palette().color(self.palette().ColorRole.ButtonText)
        self.local_action.setIcon(tinted(self.style().standardIcon(icon), text))
        self.local_action.setToolTip(
            "Stop the built-in broker (its data is kept)"
            if running
            else "Start the built-in broker"
        )
        self.menu.start_local.setEnabled(not local.busy and not local.running)
        self.menu.stop_local.setEnabled(not local.busy and local.running)

    def _update_cluster_actions(self) -> None:
        cluster = self.ctx.cluster
        self.menu.start_cluster.setEnabled(not cluster.busy and not cluster.running)
        self.menu.stop_cluster.setEnabled(not cluster.busy and cluster.running)

    @Slot()
    def _toggle_local(self) -> None:
        if self.ctx.local.running:
            self.ctx.local.stop()
        else:
            self.ctx.local.start()

    @Slot()
    def _open_local_tab(self) -> None:
        info = self.ctx.local.info
        if info is None:
            return
        sign_in = self.ctx.local.sign_in
        creds = Credentials(sign_in.password if sign_in and info.username else "")
        self.open_cluster(self._local_profile(info), creds)

    @staticmethod
    def _local_profile(info: LocalBrokerInfo) -> ClusterProfile:
        """The local broker's tab: open, or signed in as the user it was started with."""
        if not info.username:
            return ClusterProfile(name=LOCAL_NAME, bootstrap=info.bootstrap, local=True)
        return ClusterProfile(
            name=LOCAL_NAME,
            bootstrap=info.bootstrap,
            security_protocol=SecurityProtocol.SASL_PLAINTEXT,
            sasl_mechanism=SaslMechanism.SCRAM_SHA_512,
            username=info.username,
            local=True,
        )

    @Slot(object)
    def _on_cluster_started(self, info: LocalClusterInfo) -> None:
        view = self.find_view(CLUSTER_NAME)
        if view is not None and view.session.profile.bootstrap != info.bootstrap:
            self.close_tab(self.tabs.indexOf(view))
            view = None
        if view is None:
            self._open_cluster_tab()
        else:
            view.session.refresh()
        self._update_status()

    @Slot()
    def _open_cluster_tab(self) -> None:
        info = self.ctx.cluster.info
        if info is None:
            return
        profile = ClusterProfile(name=CLUSTER_NAME, bootstrap=info.bootstrap, local=True)
        self.open_cluster(profile, Credentials(), self.ctx.cluster)

    # ---- profiles ------------------------------------------------------------------------

    @Slot()
    def add_profile(self) -> None:
        self._open_profile_dialog(None)

    @Slot(str)
    def edit_profile(self, name: str) -> None:
        self._open_profile_dialog(self.ctx.profiles.get(name))

    def _open_profile_dialog(self, profile: ClusterProfile | None) -> None:
        dialog = ProfileDialog(self.ctx.profiles, self.ctx.secrets, self.ctx.jobs, profile, self)
        self.profile_dialog = dialog
        dialog.accepted.connect(self.start.reload_profiles)
        dialog.accepted.connect(lambda: self._profile_saved(dialog))
        dialog.open()

    def _profile_saved(self, dialog: ProfileDialog) -> None:
        saved = dialog.saved
        if saved is None:
            return
        if dialog.connect_after:
            self.connect_profile(saved.name)
        else:
            self.statusBar().showMessage(
                f"Saved the cluster '{saved.name}'. Double-click it to connect.",
                STATUS_TIMEOUT_MS,
            )

    @Slot(str)
    def delete_profile(self, name: str) -> None:
        answer = QMessageBox.question(self, "Delete cluster", f"Forget the cluster '{name}'?")
        if answer == QMessageBox.StandardButton.Yes:
            self.ctx.profiles.remove(name)
            secrets = self.ctx.secrets
            self.ctx.jobs.submit(Job("forget the password", lambda _c: secrets.forget(name)))
            self.start.reload_profiles()

    @Slot(str)
    def connect_profile(self, name: str) -> None:
        profile = self.ctx.profiles.get(name)
        if profile is None:
            return
        secrets = self.ctx.secrets
        job = Job("read the keyring", lambda _c: secrets.load(name), deadline_s=20)
        job.finished.connect(lambda creds: self.open_cluster(profile, creds))
        job.failed.connect(
            lambda f: self.statusBar().showMessage(
                f"Could not read the password: {f.message}", 4 * STATUS_TIMEOUT_MS
            )
        )
        self.ctx.jobs.submit(job)

    # ---- lifetime ------------------------------------------------------------------------

    def shutdown(self) -> list[Job]:
        """Close every cluster and stop the built-in broker and cluster; returns at once. Their
        stops are jobs (none when nothing runs): the app exits when they have ended."""
        for view in self.cluster_views():
            view.close_session()
        self.ctx.jobs.close()
        jobs = [self.ctx.local.stop_at_exit(), self.ctx.cluster.stop_at_exit()]
        return [job for job in jobs if job is not None and not job.ended]

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._stopping:  # the brokers are still stopping: close when they have
            event.ignore()
            return
        self.ctx.ui.set_geometry(self.saveGeometry())
        broker_ran = self.ctx.local.running or self.ctx.local.busy
        cluster_ran = self.ctx.cluster.running or self.ctx.cluster.busy
        jobs = self.shutdown()
        if not jobs:
            super().closeEvent(event)
            return
        self._stopping = jobs
        event.ignore()
        # say what happens rather than freeze or vanish silently: the window stays until the
        # brokers are down (a few seconds at most), and the user learns the data is kept
        self.tabs.setEnabled(False)
        notes = []
        if broker_ran:
            where = self.ctx.local.data_dir or default_local_data_dir()
            notes.append(f"Stopping the built-in broker before closing… Its data stays in {where}")
        if cluster_ran:
            where = self.ctx.cluster.data_dir or default_cluster_dir(None)
            notes.append(f"Stopping the local cluster before closing… Its data stays in {where}")
        self.closing_note = " · ".join(notes) or "Stopping the local brokers before closing…"
        self.statusBar().showMessage(self.closing_note)

        def one_ended(*_args: object) -> None:
            if not shiboken6.isValid(self):  # closed and deleted by its owner meanwhile
                return
            if all(job.ended for job in self._stopping):
                self._stopping = []
                self.close()

        for job in jobs:
            job.finished.connect(one_ended)
            job.failed.connect(one_ended)
