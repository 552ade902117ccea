"""Render resources/icons/topicscope.svg to the PNG sizes, the .ico and the .icns we ship.

Sizes below 32 px come from topicscope-small.svg, the same picture simplified for a pixel grid.

Run with ``.venv/bin/python resources/render_icons.py`` after editing the SVG, and commit the
outputs: builds copy them and never render. Qt (QtSvg) draws the PNGs; the .ico and .icns
containers are written here with struct, as both simply embed PNG images.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

APP_ID = "io.github.topicscope.Topicscope"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (the @2x types reuse the bigger renders).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)

ICONS_DIR = Path(__file__).resolve().parent / "icons"
SVG_PATH = ICONS_DIR / "topicscope.svg"
# A variant drawn on a 16-unit pixel grid, for the sizes where the full drawing turns to mush.
SMALL_SVG_PATH = ICONS_DIR / "topicscope-small.svg"
SMALL_BELOW = 32


def png_path(icons_dir: Path, size: int) -> Path:
    """Where the PNG of one size lives, in the freedesktop hicolor layout."""
    return icons_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"


def render_png(svg_path: Path, size: int) -> bytes:
    """Draw the SVG onto a transparent size x size ARGB image and return it as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg_path))
    if not renderer.isValid():
        raise ValueError(f"{svg_path} is not an SVG that Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"Qt could not encode the {size} px PNG")
    buffer.close()
    return bytes(data.data())


def png_dimensions(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def build_ico(pngs: Iterable[bytes]) -> bytes:
    """An ICO container with one PNG-compressed, 32-bit image per size (Windows Vista and up)."""
    images = list(pngs)
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries = b""
    for png in images:
        width, height = png_dimensions(png)
        # A byte of 0 means 256 px in the directory entry.
        entries += struct.pack(
            "<BBBBHHII", width % 256, height % 256, 0, 0, 1, 32, len(png), offset
        )
        offset += len(png)
    return header + entries + b"".join(images)


def build_icns(elements: Iterable[tuple[bytes, bytes]]) -> bytes:
    """An ICNS container of (four-char type, PNG bytes) elements, big-endian lengths."""
    body = b"".join(kind + struct.pack(">I", 8 + len(png)) + png for kind, png in elements)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def render_all(svg_path: Path, small_svg_path: Path, icons_dir: Path) -> list[Path]:
    """Write every PNG size, topicscope.ico and topicscope.icns; return the written paths."""
    cache: dict[int, bytes] = {}

    def png(size: int) -> bytes:
        if size not in cache:
            source = small_svg_path if size < SMALL_BELOW else svg_path
            cache[size] = render_png(source, size)
        return cache[size]

    written: list[Path] = []
    for size in SIZES:
        path = png_path(icons_dir, size)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(size))
        written.append(path)
    scalable = icons_dir / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg_path.read_bytes())
    written.append(scalable)
    ico = icons_dir / "topicscope.ico"
    ico.write_bytes(build_ico(png(size) for size in ICO_SIZES))
    icns = icons_dir / "topicscope.icns"
    icns.write_bytes(build_icns((kind, png(size)) for kind, size in ICNS_TYPES))
    written += [ico, icns]
    return written


def main() -> int:
    # Rendering needs no display; keep a caller's explicit choice of platform.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for path in render_all(SVG_PATH, SMALL_SVG_PATH, ICONS_DIR):
        print(path.relative_to(ICONS_DIR.parent.parent))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
