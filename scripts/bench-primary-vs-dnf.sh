#!/usr/bin/env bash
# One-off comparison on a repository of realistic size: how long real dnf and kheaders each
# take, from an empty cache, to find one kernel-devel in an 80,000-package repository
# (zstd primary, ~135 MB decompressed) served on loopback. Both download repomd.xml and the
# primary, decompress and parse it; dnf also writes its solv cache.
#
# Usage: scripts/bench-primary-vs-dnf.sh [PACKAGES]   (default 80000)
# KHEADERS=/path/to/kheaders uses that binary; otherwise one is built with the kheaders crate
# optimised (CARGO_PROFILE_DEV_PACKAGE_KHEADERS_OPT_LEVEL=3; dependencies are already opt 2).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-80000}"
WORK="$(mktemp -d)"
PORT="${PORT:-$((20000 + RANDOM % 20000))}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
trap 'kill "${HTTP_PID:-0}" 2>/dev/null; rm -rf "$WORK"' EXIT

REPO="$WORK/repo"
mkdir -p "$REPO/repodata"
# The same generator the criterion bench uses (src/metadata/primary.rs), via an example.
(cd "$ROOT" && cargo run -q --example synthetic_primary -- "$N") >"$WORK/primary.xml"
"$PY" - "$REPO" "$WORK/primary.xml" <<'PY'
import hashlib, subprocess, sys
repo, path = sys.argv[1], sys.argv[2]
xml = open(path, "rb").read()
n = xml.count(b"<package ")
zst = subprocess.run(["zstd", "-3", "-q", "-c"], input=xml, stdout=subprocess.PIPE, check=True).stdout
sha = hashlib.sha256(zst).hexdigest()
open(f"{repo}/repodata/{sha}-primary.xml.zst", "wb").write(zst)
open(f"{repo}/repodata/repomd.xml", "w").write(f'''<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1714000000</revision>
  <data type="primary">
    <checksum type="sha256">{sha}</checksum>
    <open-checksum type="sha256">{hashlib.sha256(xml).hexdigest()}</open-checksum>
    <location href="repodata/{sha}-primary.xml.zst"/>
    <timestamp>1714000000</timestamp>
    <size>{len(zst)}</size>
    <open-size>{len(xml)}</open-size>
  </data>
</repomd>
''')
print(f"repository: {n} packages, primary {len(zst)/1e6:.1f} MB zstd, {len(xml)/1e6:.1f} MB decompressed")
PY

"$PY" -m http.server "$PORT" --bind 127.0.0.1 --directory "$REPO" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do
    "$PY" -c 'import sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/repodata/repomd.xml" % sys.argv[1])' "$PORT" >/dev/null 2>&1 && break
    sleep 0.1
done

if [ -z "${KHEADERS:-}" ]; then
    (cd "$ROOT" && CARGO_PROFILE_DEV_PACKAGE_KHEADERS_OPT_LEVEL=3 cargo build -q --bin kheaders)
    KHEADERS="$ROOT/target/debug/kheaders"
fi
cat >"$WORK/k.toml" <<TOML
[[source]]
kind = "dnf"
name = "bench"
base_url = "http://127.0.0.1:$PORT/"
TOML
RELEASE=6.0.0-300.fc40.x86_64   # package 0: kernel-devel 6.0.0-300.fc40

t() { local s e; s=$(date +%s.%N); "$@" >"$WORK/out" 2>&1 || true; e=$(date +%s.%N); "$PY" -c "print(f'{$e-$s:.2f}')"; }
for run in 1 2 3; do
    rm -rf "$WORK/dnf-cache" "$WORK/k-cache"
    d=$(t dnf -q --setopt=reposdir=/dev/null --setopt=cachedir="$WORK/dnf-cache" --releasever=40 \
        --repofrompath=b,"http://127.0.0.1:$PORT/" --repo=b repoquery --latest-limit 1 kernel-devel-6.0.0-300.fc40.x86_64)
    grep -q "kernel-devel" "$WORK/out" || { echo "dnf did not find the package:"; cat "$WORK/out"; exit 1; }
    k=$(t "$KHEADERS" resolve "$RELEASE" --distro fedora --distro-version 40 --config "$WORK/k.toml" \
        --no-default-sources --dry-run --json --cache-dir "$WORK/k-cache")
    grep -q "kernel-devel" "$WORK/out" || { echo "kheaders did not find the package:"; cat "$WORK/out"; exit 1; }
    echo "run $run: dnf repoquery ${d}s   kheaders resolve --dry-run ${k}s   (empty caches)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
