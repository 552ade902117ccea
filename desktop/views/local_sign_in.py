"""The local broker card's "Require sign-in" option: a user and password it will demand."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QWidget

from desktop.domain.local import LocalSignIn

# parse_scram_user splits on these (the broker takes the user as --add-scram does)
_NAME_FORBIDDEN = ",=[]"
_PASSWORD_FORBIDDEN = ",]"


class LocalSignInForm(QWidget):
    """Off: anyone on this machine may connect. On: SASL/SCRAM-SHA-512 with this user."""

    def __init__(self) -> None:
        super().__init__()
        self.required = QCheckBox("Require sign-in")
        self.required.setToolTip(
            "Start the broker with a SASL_PLAINTEXT listener (SCRAM-SHA-512): clients must "
            "sign in as this user. The password is kept in the system keyring."
        )
        self.username = QLineEdit()
        self.username.setPlaceholderText("user")
        self.password = QLineEdit()
        self.password.setPlaceholderText("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        for field, width in ((self.username, 110), (self.password, 140)):
            field.setMinimumWidth(width)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.required)
        row.addWidget(self.username, 1)
        row.addWidget(self.password, 1)
        self.required.toggled.connect(self._update)
        self._update()

    def _update(self) -> None:
        for field in (self.username, self.password):
            field.setEnabled(self.required.isChecked())

    def problem(self) -> str:
        """Why the form cannot start the broker as it stands, or ''."""
        if not self.required.isChecked():
            return ""
        name, password = self.username.text().strip(), self.password.text()
        if not name or not password:
            return "Sign-in needs a user name and a password."
        if any(c in name for c in _NAME_FORBIDDEN):
            return f"The user name cannot hold any of {' '.join(_NAME_FORBIDDEN)}."
        if any(c in password for c in _PASSWORD_FORBIDDEN) or password != password.strip():
            return "The password cannot hold , or ] nor start or end with a space."
        return ""

    def value(self) -> LocalSignIn | None:
        if not self.required.isChecked():
            return None
        return LocalSignIn(self.username.text().strip(), self.password.text())
