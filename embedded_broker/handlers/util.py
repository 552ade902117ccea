"""Helpers for building version-specific kio responses from one superset of field values."""

from __future__ import annotations

import datetime
import importlib
from dataclasses import fields
from functools import cache
from types import ModuleType
from typing import Any

from kio.schema.errors import ErrorCode

NO_THROTTLE = datetime.timedelta(0)


_FIELD_NAMES: dict[type[Any], frozenset[str]] = {}


def _field_names(cls: type[Any]) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return names


def build(cls: type[Any], **values: Any) -> Any:
    """Instantiate a kio entity, dropping values for fields this version does not have."""
    names = _field_names(cls)
    return cls(**{k: v for k, v in values.items() if k in names})


def has_field(cls: type[Any], name: str) -> bool:
    return name in _field_names(cls)


@cache
def _response_module(request_module: str) -> ModuleType:
    return importlib.import_module(request_module.rsplit(".", 1)[0] + ".response")


def response_module(request: Any) -> ModuleType:
    """The kio module holding the response classes matching this request's version."""
    return _response_module(type(request).__module__)


def error(code: int) -> ErrorCode:
    return ErrorCode(code)


def ms(delta: datetime.timedelta) -> int:
    return round(delta.total_seconds() * 1000)
