"""The finish of a professional tool: shortcuts, menus, About, themes, controls that look
disabled and say why, and status messages that go away."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata

import confluent_kafka
import PySide6
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import QSettings, Qt, qVersion
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from desktop.context import AppContext
from desktop.domain.cluster import ConfigEntryInfo
from desktop.models.topics import TopicsModel
from desktop.settings.ui_state import UiState
from desktop.views import widgets
from desktop.views.cluster_view import ClusterView
from desktop.views.config_editor import ConfigPanel
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.views.profile_dialog import ProfileDialog
from desktop.views.theme import StyleSheets, Theme, apply_theme
from desktop.views.topic_dialogs import CreateTopicDialog
from desktop.views.widgets.feedback import TransientLabel
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.helpers import click_row

Group = QPalette.ColorGroup
Role = QPalette.ColorRole


SHEETS = StyleSheets.bundled()


@pytest.fixture(autouse=True)
def light_again(qapp: QApplication) -> Iterator[None]:
    """A test that switches theme leaves the app as the next test expects it."""
    yield
    apply_theme(qapp, Theme.LIGHT, SHEETS)


@pytest.fixture
def view(qtbot: QtBot, window: MainWindow) -> ClusterView:
    qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    found = window.find_view(LOCAL_NAME)
    assert found is not None
    wait_snapshot(qtbot, found)
    return found


def _activate(qtbot: QtBot, window: MainWindow) -> None:
    """Window shortcuts fire only in the active window, as on a desktop."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


# ---- disabled controls look disabled -------------------------------------------------------


@pytest.mark.parametrize("theme", [Theme.LIGHT, Theme.DARK])
def test_a_disabled_button_has_a_different_text_colour(
    qtbot: QtBot, qapp: QApplication, theme: Theme
) -> None:
    apply_theme(qapp, theme, SHEETS)
    enabled, disabled = QPushButton("Execute"), QPushButton("Execute")
    disabled.setEnabled(False)
    for b in (enabled, disabled):
        qtbot.addWidget(b)
        b.show()
    on = enabled.palette().color(Group.Active, Role.ButtonText)
    off = disabled.palette().color(Group.Disabled, Role.ButtonText)
    assert on != off
    assert abs(on.lightness() - off.lightness()) > 40  # visibly, not one shade apart
    text_on = enabled.palette().color(Group.Active, Role.WindowText)
    assert text_on != disabled.palette().color(Group.Disabled, Role.WindowText)


def test_topic_actions_are_disabled_with_no_selection_and_say_why(
    qtbot: QtBot, view: ClusterView
) -> None:
    admin = AdminClient({"bootstrap.servers": view.session.profile.bootstrap})
    admin.create_topics([NewTopic("finish-orders", 2, 1)])["finish-orders"].result(10)
    view.tabs.setCurrentWidget(view.topics)
    page = view.topics
    buttons = (page.empty_button, page.delete_button, page.partitions_button)
    for button in buttons:
        assert not button.isEnabled()
        assert "Select a topic" in button.toolTip()
    qtbot.waitUntil(lambda: click_row(qtbot, page.table, TopicsModel.NAME, "finish-orders"))
    for button in buttons:
        assert button.isEnabled()
        assert "finish-orders" in button.toolTip()


def test_config_edit_is_disabled_with_no_row(qtbot: QtBot) -> None:
    panel = ConfigPanel(lambda entry: not entry.read_only)
    qtbot.addWidget(panel)
    panel.set_configs(
        [
            ConfigEntryInfo("retention.ms", "604800000", "DEFAULT_CONFIG", True, False, False),
            ConfigEntryInfo("segment.bytes", "1073741824", "STATIC", True, True, False),
        ]
    )
    panel.show()
    assert not panel.edit_button.isEnabled()
    assert "Select a config row" in panel.edit_button.toolTip()
    panel.table.selectRow(0)
    assert panel.edit_button.isEnabled()
    panel.table.selectRow(1)  # read-only: the button says so instead of doing nothing
    assert not panel.edit_button.isEnabled()
    assert "cannot be changed" in panel.edit_button.toolTip()


# ---- shortcuts and menus -------------------------------------------------------------------


def test_menu_bar_has_the_usual_menus(window: MainWindow) -> None:
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "View", "Cluster", "Help"]


def test_initial_focus_is_not_the_refresh_spin_box(qtbot: QtBot, window: MainWindow) -> None:
    _activate(qtbot, window)
    # no saved clusters yet: the big "Start local broker" button, ready for Enter/Space
    assert window.focusWidget() is window.start.start_local


def test_shortcuts_refresh_find_and_close(
    qtbot: QtBot, window: MainWindow, view: ClusterView
) -> None:
    _activate(qtbot, window)
    assert window.focusWidget() is not view.interval
    refreshes: list[int] = []
    original = view.session.refresh
    view.session.refresh = lambda: (refreshes.append(1), original())[1]  # type: ignore[method-assign]
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert refreshes == [1]

    view.tabs.setCurrentWidget(view.topics)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(view.topics.filter.hasFocus)

    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert window.find_view(LOCAL_NAME) is None
    assert window.tabs.currentWidget() is window.start
    assert not window.menu.close_tab.isEnabled()  # the Start tab cannot be closed


def test_ctrl_enter_sends_from_the_producer(
    qtbot: QtBot, window: MainWindow, view: ClusterView
) -> None:
    _activate(qtbot, window)
    assert not window.menu.send.isEnabled()  # nothing to send on the overview
    sent: list[int] = []
    view.producer.send = lambda: sent.append(1)  # type: ignore[method-assign]
    view.tabs.setCurrentWidget(view.producer)
    assert window.menu.send.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert sent == [1]


def test_ctrl_n_opens_a_new_cluster_form(qtbot: QtBot, window: MainWindow) -> None:
    _activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = window.profile_dialog
    assert isinstance(dialog, ProfileDialog)
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.windowTitle()
    dialog.reject()


def test_about_lists_versions_and_folders(window: MainWindow, ctx: AppContext) -> None:
    window.menu.about.trigger()
    dialog = window.about_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text.text()
    for expected in (
        qVersion(),
        PySide6.__version__,
        f"<b>{metadata.version('confluent-kafka')}</b>",
        f"<b>{confluent_kafka.libversion()[0]}</b>",
        metadata.version("kio"),
        metadata.version("topicscope"),
        str(ctx.profiles.directory),
        str(ctx.local.data_dir),
        "file://",
    ):
        assert expected in text
    dialog.reject()


# ---- themes --------------------------------------------------------------------------------


def test_dark_theme_loads_dark_qss_and_persists(
    qtbot: QtBot, qapp: QApplication, window: MainWindow, ctx: AppContext
) -> None:
    assert "#1b1f26" not in qapp.styleSheet()
    window.menu.themes[Theme.DARK].trigger()
    assert "Topicscope dark theme" in qapp.styleSheet()  # resources/themes/dark.qss
    assert qapp.palette().color(Role.Window).lightness() < 60
    assert ctx.ui.theme == "dark"
    assert ctx.ui.flush()  # written on the write-behind thread
    settings = QSettings(ctx.ui.path, QSettings.Format.IniFormat)
    assert UiState(settings).theme == "dark"  # what the next start reads

    window.menu.themes[Theme.LIGHT].trigger()
    assert "Topicscope dark theme" not in qapp.styleSheet()
    assert qapp.palette().color(Role.Window).lightness() > 200
    assert ctx.ui.flush()
    assert UiState(QSettings(ctx.ui.path, QSettings.Format.IniFormat)).theme == "light"


def test_follow_the_system_reacts_to_a_colour_scheme_change(
    qapp: QApplication, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheme = {"dark": False}
    monkeypatch.setattr("desktop.views.theme.system_is_dark", lambda _app: scheme["dark"])
    window.menu.themes[Theme.SYSTEM].trigger()
    assert qapp.palette().color(Role.Window).lightness() > 200
    scheme["dark"] = True
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert qapp.palette().color(Role.Window).lightness() < 60
    assert window.menu.themes[Theme.SYSTEM].isChecked()


# ---- messages that go away -----------------------------------------------------------------


def test_transient_label_clears_after_its_timeout(qtbot: QtBot) -> None:
    label = TransientLabel()
    qtbot.addWidget(label)
    label.say("Created topic 'orders'.", timeout_ms=50)
    assert label.isVisibleTo(None) or label.text()  # shown now
    assert label.text() == "Created topic 'orders'."
    qtbot.waitUntil(lambda: label.text() == "", timeout=WAIT_MS)
    assert not label.isVisibleTo(label.parentWidget()) if label.parentWidget() else True


def test_topic_created_message_goes_away(
    qtbot: QtBot, view: ClusterView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widgets.feedback, "STATUS_TIMEOUT_MS", 300)
    view.tabs.setCurrentWidget(view.topics)
    qtbot.mouseClick(view.topics.create_button, Qt.MouseButton.LeftButton)
    dialog = view.topics.dialog
    assert isinstance(dialog, CreateTopicDialog)
    dialog.name.setText("finish-created")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    message = view.topics.message
    qtbot.waitUntil(lambda: "Created topic 'finish-created'" in message.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: message.text() == "" and message.isHidden(), timeout=WAIT_MS)


def test_bulk_error_clears_when_the_input_becomes_valid(qtbot: QtBot, view: ClusterView) -> None:
    view.tabs.setCurrentWidget(view.producer)
    bulk = view.producer.bulk
    bulk.topic.setCurrentText("")
    qtbot.mouseClick(bulk.send_button, Qt.MouseButton.LeftButton)
    assert bulk.error.text() == "Choose a topic."
    bulk.topic.setCurrentText("orders")
    assert bulk.error.text() == ""
    assert bulk.error.isHidden()


# ---- closing with a running broker ---------------------------------------------------------


def test_closing_with_the_broker_running_says_its_data_stays(
    qtbot: QtBot, window: MainWindow, view: ClusterView, ctx: AppContext
) -> None:
    assert ctx.local.running
    window.close()
    note = window.statusBar().currentMessage()
    assert "Stopping the built-in broker" in note
    assert str(ctx.local.data_dir) in note and "stays" in note
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
