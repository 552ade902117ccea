"""The main window: a start tab plus one tab per open cluster, and a status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QStyle,
    QTabWidget,
    QToolBar,
)

from desktop.context import AppContext
from desktop.domain.cluster import LocalBrokerInfo
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.views.cluster_view import ClusterView
from desktop.views.profile_dialog import ProfileDialog
from desktop.views.start_screen import StartScreen
from desktop.workers.jobs import Job
from desktop.workers.session import ClusterSession

LOCAL_NAME = "Local broker"
WINDOW_TITLE = "Topicscope"


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
        self._stopping: Job | None = None

        self.start = StartScreen(ctx.profiles, ctx.local)
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
        self.local_action.triggered.connect(ctx.local.start)
        for action in (self.home_action, self.add_action, self.local_action):
            toolbar.addAction(action)
        self.addToolBar(toolbar)

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
        ctx.local.started.connect(self._on_local_started)
        ctx.local.busy_changed.connect(lambda _busy: self._update_local_action())
        ctx.local.stopped.connect(self._update_local_action)
        self._update_status()

    # ---- cluster tabs --------------------------------------------------------------------

    def cluster_views(self) -> list[ClusterView]:
        return [
            w for i in range(self.tabs.count()) if isinstance(w := self.tabs.widget(i), ClusterView)
        ]

    def find_view(self, name: str) -> ClusterView | None:
        return next((v for v in self.cluster_views() if v.session.profile.name == name), None)

    def open_cluster(self, profile: ClusterProfile, creds: Credentials) -> ClusterView:
        existing = self.find_view(profile.name)
        if existing is not None:
            self.tabs.setCurrentWidget(existing)
            return existing
        ui = self.ctx.ui
        session = ClusterSession(profile, creds, ui.refresh_interval_s, ui.request_timeout_s)
        view = ClusterView(session, self.ctx.ui.hide_internal)
        view.status_changed.connect(self._update_status)
        view.interval.valueChanged.connect(self._remember_interval)
        icon = (
            QStyle.StandardPixmap.SP_ComputerIcon
            if profile.local
            else QStyle.StandardPixmap.SP_DriveNetIcon
        )
        self.tabs.addTab(view, self.style().standardIcon(icon), profile.name)
        self.tabs.setCurrentWidget(view)
        session.start()
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

    def _update_status(self) -> None:
        view = self.tabs.currentWidget()
        if isinstance(view, ClusterView):
            s = view.session
            self.status_cluster.setText(f"{s.profile.name} ({s.profile.bootstrap})")
            self.status_state.setText(s.state.value)
            self.status_refresh.setText(view.status_text())
        else:
            self.status_cluster.setText(f"{len(self.cluster_views())} cluster(s) open")
            self.status_state.setText("")
            info = self.ctx.local.info
            self.status_refresh.setText(f"local broker at {info.bootstrap}" if info else "")

    # ---- local broker --------------------------------------------------------------------

    @Slot(object)
    def _on_local_started(self, info: LocalBrokerInfo) -> None:
        self._update_local_action()
        view = self.find_view(LOCAL_NAME)
        if view is not None and view.session.profile.bootstrap != info.bootstrap:
            self.close_tab(self.tabs.indexOf(view))
            view = None
        if view is None:
            self._open_local_tab()
        else:
            view.session.refresh()
        self._update_status()

    @Slot()
    def _update_local_action(self) -> None:
        local = self.ctx.local
        self.local_action.setEnabled(not local.busy and not local.running)

    @Slot()
    def _open_local_tab(self) -> None:
        info = self.ctx.local.info
        if info is None:
            return
        profile = ClusterProfile(name=LOCAL_NAME, bootstrap=info.bootstrap, local=True)
        self.open_cluster(profile, Credentials())

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
        dialog.open()

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
            lambda f: self.statusBar().showMessage(f"Could not read the password: {f.message}")
        )
        self.ctx.jobs.submit(job)

    # ---- lifetime ------------------------------------------------------------------------

    def shutdown(self) -> Job | None:
        """Close every cluster and stop the built-in broker; returns at once. The broker's stop
        is a job (None when none runs): the app exits when it ends."""
        for view in self.cluster_views():
            view.close_session()
        self.ctx.jobs.close()
        return self.ctx.local.stop_at_exit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._stopping is not None:  # the broker is still stopping: close when it has
            event.ignore()
            return
        self.ctx.ui.set_geometry(self.saveGeometry())
        job = self.shutdown()
        if job is None or job.ended:
            super().closeEvent(event)
            return
        self._stopping = job
        event.ignore()
        self.hide()

        def close_now(*_args: object) -> None:
            self._stopping = None
            self.close()

        job.finished.connect(close_now)
        job.failed.connect(close_now)
