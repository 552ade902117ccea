"""The freedesktop .desktop entry and the AppStream metainfo."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET

from tests.unit.packaging.helpers import APP_ID, ICONS, RESOURCES, project_version

DESKTOP_FILE = RESOURCES / f"{APP_ID}.desktop"
METAINFO_FILE = RESOURCES / f"{APP_ID}.metainfo.xml"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(DESKTOP_FILE.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return parser["Desktop Entry"]


def test_desktop_entry_has_the_required_keys() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Topicscope"
    assert entry["Exec"] == "topicscope"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "topicscope"
    assert entry["Comment"]


def test_desktop_entry_categories() -> None:
    categories = desktop_entry()["Categories"]
    assert categories.endswith(";")
    assert {"Development", "Network"} <= set(filter(None, categories.split(";")))


def test_desktop_entry_icon_is_shipped_in_hicolor() -> None:
    icon = desktop_entry()["Icon"]
    assert (ICONS / "hicolor" / "scalable" / "apps" / f"{icon}.svg").is_file()
    assert (ICONS / "hicolor" / "48x48" / "apps" / f"{icon}.png").is_file()


def test_metainfo_is_well_formed_and_names_the_app() -> None:
    root = ET.parse(METAINFO_FILE).getroot()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("name") == "Topicscope"
    assert root.findtext("summary")
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "Apache-2.0"
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP_FILE.name
    assert root.findtext("provides/binary") == "topicscope"
    description = root.find("description")
    assert description is not None and description.find("p") is not None


def test_metainfo_newest_release_is_the_project_version() -> None:
    releases = ET.parse(METAINFO_FILE).getroot().findall("releases/release")
    assert releases, "metainfo has no <release>"
    assert releases[0].get("version") == project_version()
