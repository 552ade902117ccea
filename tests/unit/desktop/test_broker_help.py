"""`topicscope-broker --help` names every option's default, as Kafka's own tools do."""

from __future__ import annotations

from embedded_broker.__main__ import build_parser


def test_every_option_says_its_default() -> None:
    parser = build_parser()
    missing = [
        action.option_strings[-1]
        for action in parser._actions
        if action.option_strings
        and action.dest != "help"
        and "default" not in " ".join(str(action.help or "").split())
    ]
    assert missing == []
    text = " ".join(parser.format_help().split())
    assert "(default: 1, a single broker)" in text  # --brokers
