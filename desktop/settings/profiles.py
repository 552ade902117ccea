"""Saved connection profiles in a typed JSON file under the user's config directory."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

from desktop.domain.profile import ClusterProfile

APP_NAME = "topicscope"
FILE_VERSION = 1


def default_config_dir() -> Path:
    override = os.environ.get("TOPICSCOPE_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


class ProfileStore:
    """Loads and saves profiles; never holds passwords.

    The file is read once, at start before the window shows; the list in memory is the truth
    from then on, and each change is handed to `writer` (the app's write-behind thread)."""

    def __init__(
        self, directory: Path | None = None, writer: Callable[[Path, str], None] | None = None
    ) -> None:
        self.directory = directory or default_config_dir()
        self.path = self.directory / "profiles.json"
        self._writer = writer or _write_now
        self._profiles: list[ClusterProfile] = self._load()

    def _load(self) -> list[ClusterProfile]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []
        out: list[ClusterProfile] = []
        for item in data.get("profiles", []):
            try:
                out.append(ClusterProfile.from_json(item))
            except (KeyError, ValueError):
                continue
        return out

    def _save(self) -> None:
        data = {"version": FILE_VERSION, "profiles": [p.to_json() for p in self._profiles]}
        self._writer(self.path, json.dumps(data, indent=2))

    def all(self) -> list[ClusterProfile]:
        return list(self._profiles)

    def get(self, name: str) -> ClusterProfile | None:
        return next((p for p in self._profiles if p.name == name), None)

    def put(self, profile: ClusterProfile, replacing: str | None = None) -> None:
        """Add `profile`, or replace the one named `replacing` (or of the same name)."""
        old = replacing or profile.name
        self._profiles = [p for p in self._profiles if p.name not in (old, profile.name)]
        self._profiles.append(profile)
        self._profiles.sort(key=lambda p: p.name.lower())
        self._save()

    def remove(self, name: str) -> None:
        self._profiles = [p for p in self._profiles if p.name != name]
        self._save()


def _write_now(path: Path, text: str) -> None:
    """Without a write-behind thread (tools, tests): write at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
