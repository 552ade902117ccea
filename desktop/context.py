"""The typed application context passed down to every window (no global registries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.settings.store import SettingsStore
from desktop.settings.ui_state import UiState
from desktop.views.theme import StyleSheets
from desktop.workers.local_broker import LocalBroker
from desktop.workers.local_cluster import LocalCluster, default_cluster_dir
from desktop.workers.runner import JobRunner
from desktop.workers.write_behind import WriteBehind


@dataclass
class AppContext:
    profiles: ProfileStore
    secrets: SecretStore
    ui: UiState
    local: LocalBroker
    # app-wide jobs with no cluster: keyring look-ups, connection tests
    jobs: JobRunner = field(default_factory=lambda: JobRunner("app"))
    # the 3-broker playground: child processes, like the local broker
    cluster: LocalCluster = field(default_factory=LocalCluster)
    # profile and template files (UI settings use their store's): written off the GUI thread,
    # flushed at exit
    files: WriteBehind = field(default_factory=WriteBehind)
    # the themes' bundled style sheets, read here, before any window (never when switching)
    styles: StyleSheets = field(default_factory=StyleSheets.bundled)

    @classmethod
    def create(
        cls,
        config_dir: Path | None = None,
        local_port: int | None = None,
        data_dir: Path | None = None,
    ) -> AppContext:
        files = WriteBehind()
        return cls(
            profiles=ProfileStore(config_dir, files.write),
            files=files,
            secrets=SecretStore(),
            ui=UiState(SettingsStore(files=files)),
            local=LocalBroker(port=local_port, data_dir=data_dir),
            cluster=LocalCluster(data_dir=default_cluster_dir(data_dir) if data_dir else None),
        )
