#!/usr/bin/env bash
# Real-data check for the apt source: fetches the *untouched* bookworm and
# bookworm-security InRelease + main/binary-amd64/Packages.xz with apt's own downloader
# into a cache directory (reused between runs), then runs the ignored integration test
# `real_debian`, which serves that tree on loopback and proves OpenPGP verification with
# the embedded Debian keys, SHA256 verification of Packages.xz against the signed
# InRelease, and the Depends closure on the complete real indexes.
#
#   KHEADERS_REAL_DATA=/some/dir scripts/real-debian-check.sh
#
# A suite's InRelease and Packages.xz are fetched together into a staging directory and
# moved into place only when both arrived, so a cached pair always belongs together. A
# cached pair younger than KHEADERS_REAL_DATA_MAX_AGE_MIN (default one day) is reused; an
# older one is refreshed, and kept if the refresh fails (offline run).
set -euo pipefail

DEST="${KHEADERS_REAL_DATA:-$HOME/.cache/kheaders-real-data}"
MAX_AGE_MIN="${KHEADERS_REAL_DATA_MAX_AGE_MIN:-1440}"
HELPER=/usr/lib/apt/apt-helper

fetch_suite() { # fetch_suite ARCHIVE SUITE   (e.g. debian bookworm)
    local archive="$1" suite="$2"
    local base="http://deb.debian.org/$archive/dists/$suite"
    local dir="$DEST/$archive/dists/$suite"
    local inrel="$dir/InRelease" pk="$dir/main/binary-amd64/Packages.xz"
    if [[ -s "$inrel" && -s "$pk" && -z "$(find "$inrel" -mmin +"$MAX_AGE_MIN")" ]]; then
        echo "using cached $archive/$suite"
        return 0
    fi
    local stage
    stage="$(mktemp -d "$DEST/.stage.XXXXXX")"
    if "$HELPER" download-file "$base/InRelease" "$stage/InRelease" &&
        "$HELPER" download-file "$base/main/binary-amd64/Packages.xz" "$stage/Packages.xz"; then
        mkdir -p "$dir/main/binary-amd64"
        mv -f "$stage/Packages.xz" "$pk"
        mv -f "$stage/InRelease" "$inrel"
    elif [[ -s "$inrel" && -s "$pk" ]]; then
        echo "warning: refreshing $archive/$suite failed; using the cached copy" >&2
    else
        rm -rf "$stage"
        echo "error: cannot fetch $base and nothing is cached in $DEST" >&2
        return 1
    fi
    rm -rf "$stage"
}

# grep-dctrl (dctrl-tools) is the reference the scan is cross-checked against.
if ! command -v grep-dctrl >/dev/null && [[ "$(id -u)" == 0 ]]; then
    apt-get install -y -q dctrl-tools >/dev/null 2>&1 || echo "warning: dctrl-tools not installable; cross-check skipped" >&2
fi

mkdir -p "$DEST"
fetch_suite debian bookworm
fetch_suite debian-security bookworm-security

cd "$(dirname "$0")/.."
KHEADERS_REAL_DATA="$DEST" cargo test --test it real_debian -- --ignored --nocapture
