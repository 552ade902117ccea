"""The error for a damaged metadata file in the data directory, worded for its owner."""

from __future__ import annotations

import json
from pathlib import Path


class DamagedFileError(Exception):
    """A metadata file the broker cannot start without is damaged.

    The message names the file, says what is wrong with it and what the user can do; the
    command line prints it and the app shows it, both without a traceback.
    """

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def describe_json_error(text: str, exc: json.JSONDecodeError) -> str:
    """What is wrong with a file that does not parse as JSON, in words."""
    if not text.strip():
        return "the file is empty"
    if exc.pos >= len(text.rstrip()):
        return "it ends before its content is complete (the file looks cut short)"
    return f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
