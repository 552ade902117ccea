#!/usr/bin/env bash
# Build the bundle and the .deb (packaging/build.sh), then prove they work: the frozen app's
# --self-test passes, both from dist/ and from the .deb's unpacked payload, and the .deb holds
# every file the desktop needs. `make package-check`; SKIP_BUILD=1 checks an existing build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${VENV:-.venv}"
APP_ID="io.github.topicscope.Topicscope"
# Generous: the self-test starts a broker and a window on a possibly loaded machine.
SELF_TEST_TIMEOUT="${SELF_TEST_TIMEOUT:-180}"

fail() {
    echo "packaging/check.sh: FAILED: $*" >&2
    exit 1
}

if [ "${SKIP_BUILD:-0}" = "0" ]; then
    bash packaging/build.sh
fi

VERSION="$("$VENV/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
ARCH="$(dpkg --print-architecture)"
DEB="dist/topicscope_${VERSION}_${ARCH}.deb"
[ -x dist/topicscope/topicscope ] || fail "dist/topicscope/topicscope was not built"
[ -f "$DEB" ] || fail "$DEB was not built"

echo "== bundle contents"
internal=dist/topicscope/_internal
for pattern in "kio/_kio_native*.so" "confluent_kafka.libs/librdkafka*" \
    "PySide6/Qt/plugins/platforms/libqxcb.so" "PySide6/Qt/plugins/platforms/libqoffscreen.so" \
    "PySide6/Qt/plugins/platforms/libqwayland.so" "resources/themes/light.qss" \
    "resources/themes/dark.qss" "resources/icons/topicscope.svg"; do
    # shellcheck disable=SC2086  # the pattern is meant to glob
    compgen -G "$internal/$pattern" >/dev/null || fail "the bundle lacks $pattern"
done
echo "bundle: $(du -sm dist/topicscope | cut -f1) MB"

run_self_test() {
    local exe="$1" home
    home="$(mktemp -d)"
    # A throwaway HOME and XDG dirs: the check must not read or write the user's settings.
    if ! HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
        XDG_CACHE_HOME="$home/.cache" QT_QPA_PLATFORM=offscreen \
        timeout "$SELF_TEST_TIMEOUT" "$exe" --self-test; then
        rm -rf "$home"
        fail "$exe --self-test"
    fi
    rm -rf "$home"
}

echo "== frozen self-test: dist/topicscope/topicscope --self-test"
run_self_test dist/topicscope/topicscope

echo "== desktop entry and metainfo"
# Validators are optional tools (desktop-file-utils, appstream); use them where installed.
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "resources/$APP_ID.desktop" || fail "desktop-file-validate"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "resources/$APP_ID.metainfo.xml" || fail "appstreamcli validate"
fi

echo "== .deb contents: $DEB"
listing="$(dpkg-deb -c "$DEB" | awk '{print $6}')"
for path in ./opt/topicscope/topicscope ./usr/bin/topicscope \
    "./usr/share/applications/$APP_ID.desktop" "./usr/share/metainfo/$APP_ID.metainfo.xml" \
    "./usr/share/icons/hicolor/scalable/apps/$APP_ID.svg"; do
    grep -qxF "$path" <<<"$listing" || fail "$DEB lacks $path"
done
for size in 16 24 32 48 64 128 256 512; do
    path="./usr/share/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
    grep -qxF "$path" <<<"$listing" || fail "$DEB lacks $path"
done
grep -q "^./opt/topicscope/_internal/kio/_kio_native" <<<"$listing" || fail "$DEB lacks kio's extension"
[ "$(dpkg-deb -f "$DEB" Package)" = topicscope ] || fail "$DEB: wrong Package field"
[ "$(dpkg-deb -f "$DEB" Version)" = "$VERSION" ] || fail "$DEB: Version is not $VERSION"
[ "$(dpkg-deb -f "$DEB" Architecture)" = "$ARCH" ] || fail "$DEB: Architecture is not $ARCH"

echo "== self-test from the .deb's payload"
unpacked="$(mktemp -d)"
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -x "$DEB" "$unpacked"
run_self_test "$unpacked/opt/topicscope/topicscope"

echo "== package check passed: $DEB ($(du -h "$DEB" | cut -f1)), bundle $(du -sm dist/topicscope | cut -f1) MB"
