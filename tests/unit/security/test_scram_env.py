"""SCRAM users from TOPICSCOPE_ADD_SCRAM: out of sight of ps, and not inherited."""

from __future__ import annotations

import os

import pytest

from embedded_broker.__main__ import SCRAM_ENV, _scram_from_env
from embedded_broker.security.runtime import parse_scram_user


def test_users_come_from_the_environment_which_is_then_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        SCRAM_ENV,
        "SCRAM-SHA-512=[name=dev,password=p w=1]\n\nSCRAM-SHA-256=[name=ops,password=x]\n",
    )
    users = [parse_scram_user(item) for item in _scram_from_env()]
    assert users == [
        ("SCRAM-SHA-512", "dev", "p w=1", 4096),
        ("SCRAM-SHA-256", "ops", "x", 4096),
    ]
    assert SCRAM_ENV not in os.environ  # a cluster node started from here does not inherit it
