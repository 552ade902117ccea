"""Paths and small binary-format readers shared by the packaging tests."""

from __future__ import annotations

import importlib.util
import struct
import tomllib
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]
RESOURCES = ROOT / "resources"
ICONS = RESOURCES / "icons"
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.topicscope.Topicscope"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert isinstance(version, str)
    return version


def load_render_icons() -> ModuleType:
    """resources/render_icons.py is a script, not a package module: load it by path."""
    spec = importlib.util.spec_from_file_location("render_icons", RESOURCES / "render_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_info(data: bytes) -> tuple[int, int, int]:
    """(width, height, colour type) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height, _depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, colour


def read_ico(data: bytes) -> list[tuple[int, int, bytes]]:
    """(width, height, image bytes) per ICO directory entry; 0 in the entry means 256."""
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1), "not an ICO icon directory"
    images = []
    for i in range(count):
        width, height, _colours, _zero, planes, bits, size, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        assert planes in (0, 1) and bits in (0, 32)
        assert offset + size <= len(data)
        images.append((width or 256, height or 256, data[offset : offset + size]))
    return images


def read_icns(data: bytes) -> list[tuple[bytes, bytes]]:
    """(four-char type, payload) per ICNS element."""
    magic, total = struct.unpack(">4sI", data[:8])
    assert magic == b"icns" and total == len(data)
    elements = []
    pos = 8
    while pos < total:
        kind, length = struct.unpack(">4sI", data[pos : pos + 8])
        assert length >= 8 and pos + length <= total
        elements.append((kind, data[pos + 8 : pos + length]))
        pos += length
    return elements
