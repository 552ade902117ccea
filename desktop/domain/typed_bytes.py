"""Typed keys and values for the producer: text, JSON, big-endian numbers, hex, base64 → bytes."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
from enum import StrEnum
from typing import Any


class Encoding(StrEnum):
    TEXT = "Text"
    JSON = "JSON"
    INT = "Int (32-bit BE)"
    LONG = "Long (64-bit BE)"
    DOUBLE = "Double (64-bit BE)"
    HEX = "Hex"
    BASE64 = "Base64"
    FILE = "File"


KEY_ENCODINGS = tuple(e for e in Encoding if e is not Encoding.FILE)
PLACEHOLDERS = {
    Encoding.TEXT: "UTF-8 text",
    Encoding.JSON: 'JSON, e.g. {"id": 42}',
    Encoding.INT: "a whole number, -2147483648 to 2147483647",
    Encoding.LONG: "a whole number that fits 64 bits",
    Encoding.DOUBLE: "a number, e.g. 49.90",
    Encoding.HEX: "hex bytes, e.g. 00 0a ff",
    Encoding.BASE64: "base64, e.g. AAr/",
    Encoding.FILE: "",
}
_INTS = {Encoding.INT: (">i", 32), Encoding.LONG: (">q", 64)}


def encode(text: str, encoding: Encoding) -> bytes:
    """The bytes `text` stands for in `encoding`; ValueError (a sentence for the user) if none."""
    if encoding is Encoding.TEXT:
        return text.encode()
    if encoding is Encoding.JSON:
        json.loads(text, parse_float=str, parse_int=str)  # validates; bytes stay as typed
        return text.encode()
    plain = text.strip()
    if encoding in _INTS:
        fmt, bits = _INTS[encoding]
        if not re.fullmatch(r"[+-]?\d+", plain):
            raise ValueError(f"'{plain}' is not a whole number.")
        number, limit = int(plain), 1 << (bits - 1)
        if not -limit <= number < limit:
            raise ValueError(f"{number} does not fit {bits} bits ({-limit} to {limit - 1}).")
        return struct.pack(fmt, number)
    if encoding is Encoding.DOUBLE:
        try:
            number_f = float(plain)
        except ValueError:
            raise ValueError(f"'{plain}' is not a number.") from None
        if "_" in plain or math.isnan(number_f):
            raise ValueError(f"'{plain}' is not a number.")
        return struct.pack(">d", number_f)
    if encoding is Encoding.HEX:
        digits = re.sub(r"\s+|0x", "", plain, flags=re.IGNORECASE)
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise ValueError("Not hex: use pairs of 0-9 and a-f, spaces allowed.") from None
    if encoding is Encoding.BASE64:
        try:
            return base64.b64decode("".join(plain.split()), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"Not base64: {exc}.") from None
    raise ValueError("Choose a file to send.")


def error_for(text: str, encoding: Encoding) -> str:
    """Why `text` cannot be sent as `encoding` ("" when it can)."""
    try:
        encode(text, encoding)
    except ValueError as exc:
        return f"Not valid JSON: {exc}" if encoding is Encoding.JSON else str(exc)
    return ""


class _Number(str):
    """A JSON number kept as the user typed it (49.90 stays 49.90, 1e3 stays 1e3)."""


def pretty_json(text: str, indent: int = 2) -> str:
    """`text` re-indented, with every number and string written exactly as typed."""
    doc = json.loads(text, parse_float=_Number, parse_int=_Number)
    return _dump(doc, indent, 0)


def _dump(value: Any, indent: int, depth: int) -> str:
    if isinstance(value, _Number):
        return str(value)
    pad, inner = " " * (indent * depth), " " * (indent * (depth + 1))
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, indent, depth + 1)}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return (
            "[\n" + ",\n".join(f"{inner}{_dump(v, indent, depth + 1)}" for v in value) + f"\n{pad}]"
        )
    return json.dumps(value, ensure_ascii=False)
