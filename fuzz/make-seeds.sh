#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target from the repository's fixtures (real captured
# metadata and packages made with the real tools) plus the hand-written seeds in seeds/:
#   corpus/<target>/   one file per seed (gitignored; libFuzzer adds what it finds)
# Inputs larger than MAX bytes are cut (the fuzz runs use -max_len=$MAX).
# Needs: gzip, xz, zstd, bzip2, rpm2cpio, dpkg-deb, ar (binutils).
set -euo pipefail
cd "$(dirname "$0")"
FIX=../fixtures
MAX=${MAX:-65536}
C=corpus
mkdir -p "$C"
n=0
put() { # target file [prefix-byte]
    local dir="$C/$1" f=$2
    mkdir -p "$dir"
    local tmp="$dir/.new"
    if [ -n "${3:-}" ]; then
        { printf "$3"; head -c $((MAX - 1)) "$f"; } >"$tmp"
    else
        head -c "$MAX" "$f" >"$tmp"
    fi
    # Named by content, so equal seeds collapse into one.
    mv "$tmp" "$dir/seed-$(sha1sum <"$tmp" | cut -c1-16)"
    n=$((n + 1))
}
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
tmpf() { mktemp -u -p "$T"; }

for t in koji mirrorlist primary repomd; do
    for f in seeds/$t/*; do [ -f "$f" ] && put "$t" "$f"; done
done
while IFS= read -r f; do put repomd "$f"; done < <(find "$FIX" -path '*repodata/repomd.xml')
while IFS= read -r f; do
    o=$(tmpf)
    case "$f" in
    *.gz) gzip -dc "$f" >"$o" ;; *.xz) xz -dc "$f" >"$o" ;;
    *.zst) zstd -qdc "$f" >"$o" ;; *.bz2) bzip2 -dc "$f" >"$o" ;;
    esac
    put primary "$o"
done < <(find "$FIX" -path '*repodata/*primary.xml.*' | sort | awk 'NR <= 40')
while IFS= read -r f; do put mirrorlist "$f"; done < <(find "$FIX" -name 'mirror.list' -o -name 'mirrorlist-*')
while IFS= read -r f; do
    put release "$f"
    put inrelease "$f"
done < <(find "$FIX" -name InRelease -o -name Release -o -name '*.InRelease' | sort)
while IFS= read -r f; do put inrelease "$f"; done < <(find "$FIX" -name 'Release.gpg')
while IFS= read -r f; do
    put packages "$f" '\x3f'
    put packages "$f" '\x00'
    # Every distinct Depends value, with a version on the next line.
    { grep -h '^Depends: ' "$f" || true; } | sed 's/^Depends: //' | sort -u | awk 'NR <= 50' | while IFS= read -r d; do
        o=$(tmpf)
        printf '%s\n6.1.76-1\n' "$d" >"$o"
        put depends "$o"
    done
done < <(find "$FIX" -name '*Packages' -type f | sort)
while IFS= read -r f; do
    put debcontrol "$f"
    put unpack_deb "$f"
    # The same package with an uncompressed data.tar, so mutations reach the tar reader
    # instead of failing a decompressor's checksum.
    d=$(tmpf)
    dpkg-deb -R "$f" "$d" 2>/dev/null || continue
    o="$(tmpf).deb"
    dpkg-deb --root-owner-group -Znone -b "$d" "$o" >/dev/null 2>&1 && put unpack_deb "$o" && put debcontrol "$o"
done < <(find "$FIX" -name '*.deb' | sort)
while IFS= read -r f; do put snapshot "$f"; done < <(find "$FIX/deb/snapshot" -name '*.json')
while IFS= read -r f; do put launchpad "$f"; done < <(find "$FIX/deb/launchpad" -name '*.json')
while IFS= read -r f; do
    [ "$(stat -c %s "$f")" -le "$MAX" ] && put unpack_rpm "$f"
    o=$(tmpf)
    rpm2cpio "$f" >"$o" 2>/dev/null && put cpio "$o"
    [ "$(stat -c %s "$f")" -le "$MAX" ] && put rpm_header "$f"
done < <(find "$FIX/unpack/rpm" "$FIX/rpm/signed" -name '*.rpm' 2>/dev/null | sort)
echo "make-seeds: $n seeds in $(find "$C" -mindepth 1 -maxdepth 1 -type d | wc -l) corpora"
