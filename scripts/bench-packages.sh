#!/usr/bin/env bash
# Packages parse throughput, ours against the tools a user would otherwise use, on the
# same real file in one run: bookworm main/binary-amd64/Packages (50 MB).
#   - kheaders: criterion bench `packages` (in-memory scan)
#   - python3-debian: deb822.Packages.iter_paragraphs (Debian's /usr/bin/python3)
#   - grep-dctrl (dctrl-tools): select the same linux-* paragraphs
set -euo pipefail
DEST="${KHEADERS_REAL_DATA:-$HOME/.cache/kheaders-real-data}"
XZ="$DEST/debian/dists/bookworm/main/binary-amd64/Packages.xz"
if [[ ! -s "$XZ" ]]; then
    mkdir -p "$(dirname "$XZ")"
    /usr/lib/apt/apt-helper download-file http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz "$XZ"
fi
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
xz -dc "$XZ" > "$TMP/Packages"
SIZE=$(stat -c %s "$TMP/Packages")
echo "input: $SIZE bytes, $(grep -c '^Package:' "$TMP/Packages") paragraphs"

mbps() { awk -v s="$SIZE" -v t="$1" 'BEGIN{printf "%.0f MB/s", s/t/1e6}'; }

t0=$(date +%s.%N)
/usr/bin/python3 - "$TMP/Packages" <<'PY'
import sys
from debian import deb822
n = 0
with open(sys.argv[1]) as f:
    for p in deb822.Packages.iter_paragraphs(f, use_apt_pkg=False):
        if p["Package"].startswith("linux-"):
            n += 1
print("python3-debian: %d linux-* paragraphs" % n)
PY
t1=$(date +%s.%N)
echo "python3-debian deb822: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, $(mbps "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")"

if command -v grep-dctrl >/dev/null; then
    t0=$(date +%s.%N)
    n=$(grep-dctrl -F Package -e '^linux-' "$TMP/Packages" | grep -c '^Package:')
    t1=$(date +%s.%N)
    echo "grep-dctrl: $n paragraphs, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, $(mbps "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")"
fi

cd "$(dirname "$0")/.."
KHEADERS_REAL_DATA="$DEST" cargo bench --bench packages -- --warm-up-time 1 --measurement-time 3
