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
"$PY" - "$N" "$REPO" <<'PY'
import hashlib, subprocess, sys
n, repo = int(sys.argv[1]), sys.argv[2]
out = []
out.append('<?xml version="1.0" encoding="UTF-8"?>\n')
out.append(f'<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{n}">\n')
for i in range(n):
    if i % 1000 == 0:
        name, ver, rel = "kernel-devel", f"6.{i % 20}.{i % 97}", "300.fc40"
    elif i % 1000 == 1:
        name, ver, rel = "kernel-headers", f"6.{i % 20}.{i % 97}", "300.fc40"
    else:
        name, ver, rel = f"package-{i}", f"1.{i % 13}.{i % 7}", "1.fc40"
    out.append(f'''<package type="rpm">
  <name>{name}</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="{ver}" rel="{rel}"/>
  <checksum type="sha256" pkgid="YES">{i:064x}</checksum>
  <summary>Synthetic package {i} &amp; friends</summary>
  <description>A package generated to give the parser a realistic amount of work. It has a description long enough to matter &lt;like real ones&gt;.</description>
  <packager>Fedora Project</packager>
  <url>https://example.org/{name}</url>
  <time file="1714000000" build="1713990000"/>
  <size package="{10000 + i}" installed="{40000 + i}" archive="{41000 + i}"/>
  <location href="Packages/{name[0]}/{name}-{ver}-{rel}.x86_64.rpm"/>
  <format>
    <rpm:license>GPL-2.0-only</rpm:license>
    <rpm:vendor>Fedora Project</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>buildhw-x86-01.iad2.fedoraproject.org</rpm:buildhost>
    <rpm:sourcerpm>{name}-{ver}-{rel}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="39265"/>
    <rpm:provides>
      <rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/>
      <rpm:entry name="{name}(x86-64)" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/>
      <rpm:entry name="lib{name}.so.1()(64bit)"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="libc.so.6(GLIBC_2.34)(64bit)"/>
      <rpm:entry name="rtld(GNU_HASH)"/>
      <rpm:entry name="/usr/bin/sh" pre="1"/>
    </rpm:requires>
    <file>/usr/bin/{name}</file>
  </format>
</package>
''')
out.append("</metadata>\n")
xml = "".join(out).encode()
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
