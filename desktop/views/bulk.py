"""Bulk sending from a template: count, rate limit, progress, Stop; templates saved per cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.domain.messages import BulkProgress
from desktop.services.produce import ProducerSettings
from desktop.services.templates import (
    PLACEHOLDERS,
    Template,
    TemplateStore,
    bulk_requests,
    check_template,
)
from desktop.views.message_detail import InlineError
from desktop.views.topic_choice import TopicCombo
from desktop.views.widgets.common import set_role
from desktop.views.widgets.feedback import clear_when_valid
from desktop.workers.bulk_produce import bulk_send_job
from desktop.workers.jobs import Job, JobFailure, Lane, cancelled_with
from desktop.workers.session import ClusterSession


class SettingsSource(Protocol):
    def settings(self) -> ProducerSettings: ...


class BulkPanel(QGroupBox):
    def __init__(self, session: ClusterSession, form: SettingsSource) -> None:
        super().__init__("Bulk send from a template")
        self.session = session
        self.form = form
        self.store = TemplateStore(session.profile.name)
        self.saved: list[Template] = []  # the templates as last read or written (by a job)
        self.template_job: Job | None = None
        self.worker: Job | None = None
        self.last: BulkProgress | None = None
        self._running = False
        self._track = cancelled_with(self)

        self.topic = TopicCombo("topic")
        self.key = QLineEdit("key-{{i}}")
        self.null_key = QCheckBox("null key")
        self.value = QPlainTextEdit(
            '{"id": {{i}}, "user": "{{name}}", "email": "{{email}}", '
            '"score": {{random_int 1 100}}, "at": {{now}}}'
        )
        self.value.setMaximumHeight(90)
        self.value.setToolTip("Placeholders: " + " ".join(PLACEHOLDERS))
        self.count = QSpinBox()
        self.count.setRange(1, 100_000_000)
        self.count.setValue(1000)
        self.rate = QSpinBox()
        self.rate.setRange(0, 10_000_000)
        self.rate.setSpecialValueText("unlimited")
        self.rate.setSuffix(" msg/s")
        self.send_button = QPushButton("Send")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.error = InlineError()
        self.templates = QComboBox()
        self.template_name = QLineEdit()
        self.template_name.setPlaceholderText("template name")
        self.save_button = QPushButton("Save template")
        self.delete_button = QPushButton("Delete")

        self.send_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(self.save_template)
        self.delete_button.clicked.connect(self.delete_template)
        self.templates.activated.connect(
            lambda _i: self.load_template(self.templates.currentText())
        )
        self._layout()
        self.reload_templates()
        clear_when_valid(
            self.error,
            lambda: not self.input_error(),
            self.topic.currentTextChanged,
            self.key.textChanged,
            self.value.textChanged,
            self.template_name.textChanged,
        )

    def _layout(self) -> None:
        form = QFormLayout(self)
        form.addRow("Topic", self.topic)
        key = QHBoxLayout()
        key.addWidget(self.key, 1)
        key.addWidget(self.null_key)
        form.addRow("Key", key)
        form.addRow("Value", self.value)
        hint = QLabel("Placeholders: " + " ".join(PLACEHOLDERS))
        hint.setWordWrap(True)
        set_role(hint, "muted")
        form.addRow("", hint)
        n = QHBoxLayout()
        n.addWidget(self.count)
        n.addWidget(QLabel("at most"))
        n.addWidget(self.rate)
        form.addRow("Messages", n)
        go = QHBoxLayout()  # a row of their own: the form fits beside the producer at 1024 px
        go.addWidget(self.send_button)
        go.addWidget(self.stop_button)
        go.addStretch(1)
        form.addRow("", go)
        form.addRow(self.progress)
        form.addRow(self.status)
        form.addRow(self.error)
        t = QGridLayout()
        t.setContentsMargins(0, 0, 0, 0)
        t.addWidget(self.templates, 0, 0)
        t.addWidget(self.delete_button, 0, 1)
        t.addWidget(self.template_name, 1, 0)
        t.addWidget(self.save_button, 1, 1)
        t.setColumnStretch(0, 1)
        holder = QWidget()
        holder.setLayout(t)
        form.addRow("Templates", holder)

    # ---- templates -----------------------------------------------------------------------

    def template(self, name: str = "") -> Template:
        return Template(
            name=name,
            key=self.key.text(),
            value=self.value.toPlainText(),
            null_key=self.null_key.isChecked(),
        )

    # ---- templates: the file is read and written by jobs, never on the GUI thread --------

    def _template_job(
        self, name: str, work: Callable[[], list[Template]], done: Callable[[], None]
    ) -> Job:
        store = self.store
        job = Job(name, lambda _ctx: work(), lane=Lane.STREAM, deadline_s=30)

        def finished(templates: list[Template]) -> None:
            if store is not self.store:
                return  # another file was chosen meanwhile
            self.saved = templates
            self.templates.clear()
            self.templates.addItems([t.name for t in templates])
            done()

        job.finished.connect(finished)
        job.failed.connect(lambda f: self.error.setText(f"Templates in {store.path}: {f.message}"))
        self.template_job = job
        self.session.submit(job)
        return job

    def reload_templates(self) -> Job:
        return self._template_job("read templates", self.store.load, lambda: None)

    @Slot()
    def save_template(self) -> None:
        name = self.template_name.text().strip() or self.templates.currentText()
        if not name:
            self.error.setText("Name the template to save it.")
            return
        template, store = self.template(name), self.store

        def saved() -> None:
            self.templates.setCurrentText(name)
            self.status.setText(f"Saved template '{name}' in {store.path}.")

        self._template_job("save template", lambda: store.save(template), saved)

    @Slot()
    def delete_template(self) -> None:
        name = self.templates.currentText()
        store = self.store
        if name:
            self._template_job("delete template", lambda: store.delete(name), lambda: None)

    def load_template(self, name: str) -> None:
        for t in self.saved:
            if t.name == name:
                self.key.setText(t.key)
                self.value.setPlainText(t.value)
                self.null_key.setChecked(t.null_key)
                self.template_name.setText(t.name)

    # ---- sending -------------------------------------------------------------------------

    def input_error(self) -> str:
        """What stops a send ("" when nothing does)."""
        template = self.template()
        error = "" if self.topic.currentText().strip() else "Choose a topic."
        return error or check_template(template.key) or check_template(template.value) or ""

    @property
    def running(self) -> bool:
        """True from Send until this panel has handled the end of the run."""
        return self._running

    @Slot()
    def start(self) -> None:
        if self.running:
            return
        topic = self.topic.currentText().strip()
        template = self.template()
        error = self.input_error()
        self.error.setText(error)
        if error:
            return
        total = self.count.value()
        rate = self.rate.value() or None
        worker = bulk_send_job(
            self.session,
            self.form.settings(),
            lambda: bulk_requests(template, topic, total),
            total,
            rate=float(rate) if rate else None,
        )
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.worker = worker
        self._track(worker)
        self._running = True
        self.last = None
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(f"Sending {total:,} messages to '{topic}'…")
        self.session.submit(worker)

    @Slot()
    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _text(self, p: BulkProgress) -> str:
        text = f"{p.delivered:,} of {p.total:,} delivered · {p.rate:,.0f} msg/s"
        if p.failed:
            text += f" · {p.failed:,} failed ({p.first_error})"
        return text

    def _on_progress(self, p: BulkProgress) -> None:
        self.progress.setValue(p.delivered)
        self.status.setText(self._text(p))

    def _on_finished(self, p: BulkProgress) -> None:
        self.last = p
        self.progress.setValue(p.delivered)
        stopped = " (stopped)" if p.sent < p.total else ""
        self.status.setText(f"Done{stopped}: {self._text(p)} in {p.elapsed_s:.1f} s")
        self._running = False
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _on_failed(self, failure: JobFailure) -> None:
        self.error.setText("Stopped." if failure.cancelled else failure.message)
        self._running = False
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)
