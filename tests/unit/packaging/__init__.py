"""Tests of resources/ and packaging/: icons, desktop entry, metainfo, themes and the spec."""
