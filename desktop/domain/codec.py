"""Ways to look at a message's bytes: text, JSON, hex dump, numbers, base64, Confluent framing."""

from __future__ import annotations

import base64
import json
import struct
from enum import StrEnum
from typing import Any


class ViewMode(StrEnum):
    AUTO = "Auto"
    TEXT = "UTF-8 text"
    JSON = "JSON"
    HEX = "Hex dump"
    INT = "Int (32-bit BE)"
    LONG = "Long (64-bit BE)"
    DOUBLE = "Double (64-bit BE)"
    BASE64 = "Base64"


def is_text(data: bytes) -> bool:
    """Valid UTF-8 without control characters other than tab and line breaks."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= " " or c in "\t\r\n" for c in text)


def preview(data: bytes | None, limit: int) -> str:
    """A one-line rendering for the table: text when it is text, else hex."""
    if data is None:
        return "null"
    head = data[: limit * 4]
    if is_text(head) or _is_text_prefix(head):
        text = head.decode("utf-8", errors="ignore")
        one_line = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
        return one_line[:limit] + ("…" if len(one_line) > limit or len(data) > len(head) else "")
    shown = data[: limit // 3]
    return shown.hex(" ") + (" …" if len(data) > len(shown) else "")


def _is_text_prefix(data: bytes) -> bool:
    # a multi-byte character may be cut at the preview boundary
    return any(len(data) > cut and is_text(data[:-cut]) for cut in range(1, 4))


def parse_json(data: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False, None


def hex_dump(data: bytes, width: int = 16) -> str:
    lines = []
    for off in range(0, len(data), width):
        chunk = data[off : off + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        chars = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<{width * 3 - 1}}  {chars}")
    return "\n".join(lines)


def confluent_schema_id(data: bytes | None) -> int | None:
    """The schema id when `data` uses the schema-registry wire format (magic 0 + 4-byte id)."""
    if data is None or len(data) < 5 or data[0] != 0:
        return None
    return int(struct.unpack(">I", data[1:5])[0])


def auto_mode(data: bytes) -> ViewMode:
    if parse_json(data)[0] and data.strip()[:1] in (b"{", b"["):
        return ViewMode.JSON
    if is_text(data):
        return ViewMode.TEXT
    return ViewMode.HEX


def render(data: bytes | None, mode: ViewMode) -> tuple[str, str]:
    """(text, error): the bytes shown in `mode`, or why they cannot be."""
    if data is None:
        return "null", ""
    if mode is ViewMode.AUTO:
        mode = auto_mode(data)
    if mode is ViewMode.TEXT:
        text = data.decode("utf-8", errors="replace")
        bad = "" if is_text(data) or _utf8_ok(data) else "Not valid UTF-8; shown with replacements."
        return text, bad
    if mode is ViewMode.JSON:
        ok, doc = parse_json(data)
        if not ok:
            return data.decode("utf-8", errors="replace"), "Not valid JSON."
        return json.dumps(doc, indent=2, ensure_ascii=False), ""
    if mode is ViewMode.HEX:
        return hex_dump(data), ""
    if mode is ViewMode.BASE64:
        return base64.b64encode(data).decode("ascii"), ""
    formats = {ViewMode.INT: (">i", 4), ViewMode.LONG: (">q", 8), ViewMode.DOUBLE: (">d", 8)}
    fmt, size = formats[mode]
    if len(data) != size:
        return "", f"{mode.value} needs exactly {size} bytes; this has {len(data)}."
    return repr(struct.unpack(fmt, data)[0]), ""


def _utf8_ok(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
