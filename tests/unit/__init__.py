"""Unit tests, mirroring the packages."""
