"""The main window's menu bar (File, View, Cluster, Help) and its keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLineEdit, QMainWindow, QMenu, QWidget

from desktop.views.theme import THEME_LABELS, Theme

Std = QKeySequence.StandardKey


def find_target(page: QWidget | None) -> QWidget | None:
    """The filter or search box of a screen: `find_target()` when the page offers one, else its
    `filter` / `search_text` field, else its first visible line edit that says Filter or Search."""
    if page is None:
        return None
    offered = getattr(page, "find_target", None)
    if callable(offered):
        target = offered()
        return target if isinstance(target, QWidget) else None
    for name in ("filter", "search_text"):
        field = getattr(page, name, None)
        if isinstance(field, QWidget) and field.isVisibleTo(page):
            return field
    for edit in page.findChildren(QLineEdit):
        words = edit.placeholderText().lower()
        if edit.isVisibleTo(page) and ("filter" in words or "search" in words):
            return edit
    return None


def shortcuts(*keys: Std | str) -> list[QKeySequence]:
    """Every binding of the platform's standard keys, then the explicit ones (the keys users
    know from other tools) where the platform lacks them, e.g. Quit has none on some."""
    out: list[QKeySequence] = []
    for key in keys:
        for seq in QKeySequence.keyBindings(key) if isinstance(key, Std) else [QKeySequence(key)]:
            if not seq.isEmpty() and seq not in out:
                out.append(seq)
    return out


class MainMenu(QObject):
    """Owns the application-wide actions; the window connects them to what they do."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)

        def action(text: str, *keys: Std | str, tip: str = "") -> QAction:
            act = QAction(text, window)
            act.setShortcuts(shortcuts(*keys))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setStatusTip(tip)
            window.addAction(act)  # shortcuts work with the menu bar hidden too
            return act

        self.new_cluster = action(
            "&New cluster…", Std.New, "Ctrl+N", tip="Add a cluster connection"
        )
        self.close_tab = action(
            "&Close tab", Std.Close, "Ctrl+W", tip="Close the current cluster tab"
        )
        self.quit = action("&Quit", Std.Quit, "Ctrl+Q", tip="Close Topicscope")
        self.quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.refresh = action("&Refresh", Std.Refresh, "F5", tip="Refresh the current cluster now")
        self.find = action("&Find", Std.Find, "Ctrl+F", tip="Go to the current screen's filter box")
        # Ctrl+Enter as on every platform, plus the keypad Enter; the producer's Send
        self.send = action("&Send message", "Ctrl+Return", "Ctrl+Enter", tip="Send the message")
        self.start_local = action("Start &local broker", tip="Start the built-in broker")
        self.stop_local = action("Sto&p local broker", tip="Stop the built-in broker")
        self.start_cluster = action(
            "Start local clus&ter (3 brokers)", tip="Start a controller and brokers 101-103"
        )
        self.stop_cluster = action("Stop local cl&uster", tip="Stop every node of the cluster")
        self.about = action("&About Topicscope", tip="Versions and file locations")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)

        self.theme_group = QActionGroup(window)
        self.theme_group.setExclusive(True)
        self.themes: dict[Theme, QAction] = {}
        for theme, label in THEME_LABELS.items():
            act = QAction(label, window)
            act.setCheckable(True)
            act.setData(theme.value)
            self.theme_group.addAction(act)
            self.themes[theme] = act

        bar = window.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.new_cluster)
        file.addAction(self.close_tab)
        file.addSeparator()
        file.addAction(self.quit)
        view = bar.addMenu("&View")
        view.addAction(self.refresh)
        view.addAction(self.find)
        view.addSeparator()
        self.theme_menu: QMenu = view.addMenu("&Theme")
        for act in self.themes.values():
            self.theme_menu.addAction(act)
        cluster = bar.addMenu("&Cluster")
        cluster.addAction(self.send)
        cluster.addSeparator()
        cluster.addAction(self.start_local)
        cluster.addAction(self.stop_local)
        cluster.addAction(self.start_cluster)
        cluster.addAction(self.stop_cluster)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about)

    def show_theme(self, theme: Theme) -> None:
        self.themes[theme].setChecked(True)
