#!/usr/bin/env bash
# Real-data check for the apt source: fetches the *untouched* bookworm and
# bookworm-security InRelease + main/binary-amd64/Packages.xz with apt's own
# downloader into a cache directory (reused between runs), then runs the ignored
# integration test `real_debian`, which serves that tree on loopback and proves
# OpenPGP verification with the embedded Debian keys, SHA256 verification of
# Packages.xz against the signed InRelease, and the Depends closure.
#
#   KHEADERS_REAL_DATA=/some/dir scripts/real-debian-check.sh
#
# Exit status: the test's. Without network and without a cached copy it says so and fails.
set -euo pipefail

DEST="${KHEADERS_REAL_DATA:-$HOME/.cache/kheaders-real-data}"
HELPER=/usr/lib/apt/apt-helper
# Refetch when the cached copy is older than this many minutes: InRelease carries a
# Valid-Until for security, and newer Packages keep the closure test meaningful.
MAX_AGE_MIN="${KHEADERS_REAL_DATA_MAX_AGE_MIN:-1440}"

fetch() { # fetch URL REL
    local url="$1" rel="$2" out="$DEST/$2"
    if [[ -s "$out" ]] && [[ -z "$(find "$out" -mmin +"$MAX_AGE_MIN" 2>/dev/null)" ]]; then
        return 0
    fi
    mkdir -p "$(dirname "$out")"
    "$HELPER" download-file "$url" "$out.partial"
    mv -f "$out.partial" "$out"
}

mkdir -p "$DEST"
for pair in "debian bookworm" "debian-security bookworm-security"; do
    set -- $pair
    base="http://deb.debian.org/$1"
    fetch "$base/dists/$2/InRelease" "$1/dists/$2/InRelease"
    fetch "$base/dists/$2/main/binary-amd64/Packages.xz" "$1/dists/$2/main/binary-amd64/Packages.xz"
done
# InRelease and Packages.xz must belong together: if the archive republished between
# the two downloads the hash check fails; delete the cache directory and run again.
cd "$(dirname "$0")/.."
KHEADERS_REAL_DATA="$DEST" cargo test --test it real_debian -- --ignored --nocapture
