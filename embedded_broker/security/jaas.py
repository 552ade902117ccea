"""PLAIN users from a JAAS login module line, as Kafka's PlainLoginModule reads them."""

from __future__ import annotations

import re

from embedded_broker.config import ConfigError

_OPTION = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))')
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


def plain_users(jaas: str, setting: str) -> dict[str, str]:
    """user_NAME="PASSWORD" options of a PlainLoginModule entry -> {NAME: PASSWORD}."""
    text = jaas.strip()
    module, _, rest = text.partition(" ")
    if module != PLAIN_MODULE:
        raise ConfigError(f"{setting} must use {PLAIN_MODULE}, got {module or 'nothing'!r}")
    flag, _, options = rest.strip().partition(" ")
    if flag not in ("required", "requisite", "sufficient", "optional"):
        raise ConfigError(f"{setting}: expected a control flag such as 'required' after the module")
    options = options.strip()
    if not options.endswith(";"):
        raise ConfigError(f"{setting} must end with ';'")
    options = options[:-1]
    users: dict[str, str] = {}
    pos = 0
    while pos < len(options.rstrip()):
        match = _OPTION.match(options, pos)
        if match is None:
            raise ConfigError(f"{setting}: cannot read the options from {options[pos:]!r}")
        key = match.group(1)
        value = match.group(2) if match.group(2) is not None else match.group(3)
        value = re.sub(r"\\(.)", r"\1", value)
        if key.startswith("user_") and len(key) > len("user_"):
            users[key[len("user_") :]] = value
        pos = match.end()
    return users
