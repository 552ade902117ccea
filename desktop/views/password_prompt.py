"""Ask for a SASL password on connect when no keyring holds it (kept for this session only)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.profile import ClusterProfile


class PasswordPrompt(QDialog):
    """The password the save dialog promised to ask for, instead of a raw librdkafka error."""

    def __init__(self, profile: ClusterProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Password for '{profile.name}'")
        user = profile.username or "(no username)"
        text = QLabel(
            f"'{profile.name}' signs in with SASL {profile.sasl_mechanism.value} as "
            f"<b>{user}</b>, and no password is stored for it (there is no system keyring, "
            "or it holds none). Enter the password; it is kept in memory until Topicscope "
            "closes."
        )
        text.setWordWrap(True)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Connect")
        ok.setEnabled(False)
        self.password.textChanged.connect(lambda t: ok.setEnabled(bool(t)))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Password", self.password)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
