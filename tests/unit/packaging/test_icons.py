"""The committed icon renders: every PNG size, and .ico/.icns containers that parse."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

from tests.unit.packaging.helpers import (
    APP_ID,
    ICONS,
    load_render_icons,
    png_info,
    read_icns,
    read_ico,
)

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
RGBA = 6


def test_sizes_match_the_render_script() -> None:
    assert load_render_icons().SIZES == SIZES


@pytest.mark.parametrize("size", SIZES)
def test_png_exists_with_its_size(size: int) -> None:
    path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    assert png_info(path.read_bytes()) == (size, size, RGBA)


def test_png_has_transparent_corners_and_opaque_centre(qapp: object) -> None:
    image = QImage(str(ICONS / "hicolor" / "64x64" / "apps" / f"{APP_ID}.png"))
    assert not image.isNull()
    assert image.pixelColor(0, 0).alpha() == 0
    assert image.pixelColor(32, 32).alpha() == 255


@pytest.mark.parametrize(
    ("name", "view_box"),
    [("topicscope.svg", "0 0 256 256"), ("topicscope-small.svg", "0 0 16 16")],
)
def test_svg_is_well_formed_and_drawable(name: str, view_box: str, qapp: object) -> None:
    root = ET.parse(ICONS / name).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == view_box
    assert QSvgRenderer(str(ICONS / name)).isValid()


def test_scalable_icon_is_the_full_drawing() -> None:
    scalable = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == (ICONS / "topicscope.svg").read_bytes()


def test_ico_holds_a_png_per_size_up_to_256() -> None:
    images = read_ico((ICONS / "topicscope.ico").read_bytes())
    assert [(w, h) for w, h, _ in images] == [(s, s) for s in SIZES if s <= 256]
    for width, height, png in images:
        assert png_info(png)[:2] == (width, height)


def test_qt_reads_the_ico(qapp: object) -> None:
    image = QImage(str(ICONS / "topicscope.ico"))
    assert not image.isNull()
    assert image.width() in (16, 256)


def test_icns_elements_are_pngs_of_their_type_size() -> None:
    expected = dict(load_render_icons().ICNS_TYPES)
    elements = read_icns((ICONS / "topicscope.icns").read_bytes())
    assert [kind for kind, _ in elements] == list(expected)
    for kind, payload in elements:
        size = expected[kind]
        assert png_info(payload)[:2] == (size, size), kind


def test_container_writers_round_trip() -> None:
    render = load_render_icons()
    small = (ICONS / "hicolor" / "16x16" / "apps" / f"{APP_ID}.png").read_bytes()
    big = (ICONS / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").read_bytes()
    assert read_ico(render.build_ico([small, big])) == [(16, 16, small), (256, 256, big)]
    assert read_icns(render.build_icns([(b"icp4", small), (b"ic08", big)])) == [
        (b"icp4", small),
        (b"ic08", big),
    ]
