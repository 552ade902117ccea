"""share.auto.offset.reset values: ISO-8601 durations read as Java's Duration.parse reads them."""

from __future__ import annotations

import pytest

from embedded_broker.share.offset_reset import duration_ms, kept, problem


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("PT1H", 3_600_000),
        ("pt1h", 3_600_000),
        ("P1D", 86_400_000),
        ("P1DT2H3M4.5S", 86_400_000 + 7_200_000 + 180_000 + 4_500),
        ("PT0.001S", 1),
        ("PT-1M", -60_000),
        ("-PT1H", -3_600_000),
        ("PT0S", 0),
    ],
)
def test_durations(text: str, ms: int) -> None:
    assert duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "P", "PT", "1h", "P1H", "PT1D", "P1DT", "PT1.5H"])
def test_not_durations(text: str) -> None:
    assert duration_ms(text) is None


def test_settings() -> None:
    assert problem("Earliest") is None and kept("Earliest") == "earliest"
    assert problem("BY_DURATION:PT30M") is None and kept("BY_DURATION:PT30M") == "by_duration:PT30M"
    assert problem("by_duration:-PT1S") is not None
    assert problem("by_duration:") is not None
