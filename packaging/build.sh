#!/usr/bin/env bash
# Build the Topicscope bundle (dist/topicscope/) with PyInstaller, then the Debian package
# dist/topicscope_<version>_<arch>.deb with dpkg-deb. Run from anywhere: `make package`.
#
# Environment: VENV (default .venv) is the project virtualenv with PyInstaller installed
# (`make install`); SKIP_DEB=1 builds only the bundle; TOPICSCOPE_ONEFILE=1 builds a single
# executable, dist/onefile/topicscope, instead of the folder (no .deb then: it wraps the folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
PYINSTALLER="$VENV/bin/pyinstaller"
APP_ID="io.github.topicscope.Topicscope"

die() {
    echo "packaging/build.sh: $*" >&2
    exit 1
}

[ -x "$PYINSTALLER" ] || die "$PYINSTALLER not found: run 'make install' first."

VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
[ -n "$VERSION" ] || die "no [project] version in pyproject.toml"

# The one-file executable goes to dist/onefile/topicscope, apart from the folder bundle.
DISTDIR=dist
WORKDIR=build/pyinstaller
if [ "${TOPICSCOPE_ONEFILE:-0}" != "0" ]; then
    DISTDIR=dist/onefile
    WORKDIR=build/pyinstaller-onefile
fi

start=$(date +%s)
echo "== PyInstaller: topicscope $VERSION -> $DISTDIR/topicscope"
rm -rf "${DISTDIR:?}/topicscope"
"$PYINSTALLER" --noconfirm --log-level WARN \
    --distpath "$ROOT/$DISTDIR" --workpath "$ROOT/$WORKDIR" \
    packaging/topicscope.spec
echo "== built in $(($(date +%s) - start)) s: $(du -sh "$DISTDIR/topicscope" | cut -f1)"

if [ "${TOPICSCOPE_ONEFILE:-0}" != "0" ] || [ "${SKIP_DEB:-0}" != "0" ]; then
    exit 0
fi

command -v dpkg-deb >/dev/null || die "dpkg-deb not found: install dpkg to build the .deb."
ARCH="$(dpkg --print-architecture)"
DEB="dist/topicscope_${VERSION}_${ARCH}.deb"
STAGE="build/deb/topicscope_${VERSION}_${ARCH}"

echo "== Debian package: $DEB"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/metainfo" "$STAGE/usr/share/doc/topicscope"
cp -a dist/topicscope "$STAGE/opt/topicscope"

# A wrapper rather than a symlink: the bundle then always starts from its own folder.
cat >"$STAGE/usr/bin/topicscope" <<'EOF'
#!/bin/sh
exec /opt/topicscope/topicscope "$@"
EOF

install -m 0644 "resources/$APP_ID.desktop" "$STAGE/usr/share/applications/$APP_ID.desktop"
install -m 0644 "resources/$APP_ID.metainfo.xml" "$STAGE/usr/share/metainfo/$APP_ID.metainfo.xml"
for dir in resources/icons/hicolor/*/apps; do
    size="$(basename "$(dirname "$dir")")"
    mkdir -p "$STAGE/usr/share/icons/hicolor/$size/apps"
    install -m 0644 "$dir"/"$APP_ID".* "$STAGE/usr/share/icons/hicolor/$size/apps/"
done

cat >"$STAGE/usr/share/doc/topicscope/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: topicscope

Files: *
License: Apache-2.0
 Topicscope is licensed under the Apache License, Version 2.0. On Debian systems the full
 text is in /usr/share/common-licenses/Apache-2.0. The bundle under /opt/topicscope also
 carries Qt (LGPLv3), PySide6 (LGPLv3), librdkafka (BSD-2-Clause), Python (PSF-2.0) and
 the other libraries it was built with, under their own licences.
EOF

# xz at level 2: a quarter of the default level's time for a package a few MB bigger.
# Ownership and modes: root-owned (dpkg-deb --root-owner-group), dirs 0755, files 0644,
# executables 0755.
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$STAGE" -type f -perm -u+x -exec chmod 0755 {} +
chmod 0755 "$STAGE/usr/bin/topicscope"

INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
# The bundle's Python and Qt were linked against the build machine's C library.
GLIBC="$(dpkg-query -W -f='${Version}' libc6 2>/dev/null | cut -d- -f1)"
# The bundle carries Qt and Python; these are the system libraries Qt's xcb platform needs
# (package names from Debian 12; the glib alternative covers the t64 rename in newer releases).
cat >"$STAGE/DEBIAN/control" <<EOF
Package: topicscope
Version: $VERSION
Architecture: $ARCH
Maintainer: Topicscope developers <noreply@topicscope.invalid>
Installed-Size: $INSTALLED_KB
Section: devel
Priority: optional
Depends: libc6 (>= ${GLIBC:-2.31}), libegl1, libgl1, libfontconfig1, libfreetype6, libdbus-1-3,
 libglib2.0-0 | libglib2.0-0t64, libx11-6, libx11-xcb1, libxkbcommon0, libxkbcommon-x11-0,
 libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0,
 libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0, libxcb-xkb1
Recommends: libwayland-client0, libwayland-cursor0, libwayland-egl1, hicolor-icon-theme
Description: desktop explorer for Apache Kafka with a built-in broker
 Topicscope shows the topics, partitions, messages and consumer groups of an Apache
 Kafka cluster, with live lag charts. It ships its own small Kafka-compatible broker,
 so Kafka clients can be tried locally without Java.
 .
 This package installs a self-contained bundle in /opt/topicscope.
EOF

rm -f "$DEB"
dpkg-deb --root-owner-group -Zxz -z2 --build "$STAGE" "$DEB" >/dev/null
echo "== $DEB: $(du -h "$DEB" | cut -f1); total build time $(($(date +%s) - start)) s"
