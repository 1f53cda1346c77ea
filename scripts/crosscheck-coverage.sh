#!/usr/bin/env bash
# Cross-checks the long-tail families (issue 10) against real dnf on the coverage fixture
# repositories (fixtures/rpm/coverage, made by fixtures/rpm/make-coverage-fixtures.sh).
#
# For every case both tools are asked for the same kernel:
#   dnf --setopt=reposdir=/dev/null --repofrompath=t,URL --repo=t repoquery --latest-limit 1 PATTERN
#   kheaders resolve RELEASE --distro D --distro-version V --arch A --mirror https://HOST=... --dry-run --json
# kheaders runs its *embedded catalog* chain with only the upstream hosts rewritten onto
# loopback; the package it names first must be the one dnf names for the repository that
# won (same file name), and its sha256 the served file's. PATTERN is what an operator would
# type: the exact NVRA where `uname -r` gives it, a `V-R.*` glob for SUSE, whose package
# release carries a rebuild counter `uname -r` lacks (`150500.55.39` → `150500.55.39.1`).
#
# Needs: dnf, python3, cargo. Usage: scripts/crosscheck-coverage.sh   (exit 0 = all agree)
# KHEADERS=/path/to/kheaders uses that binary instead of building one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MIRROR="$ROOT/fixtures/rpm/coverage"
WORK="$(mktemp -d)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# A free loopback port, chosen by the kernel.
"$PY" - "$MIRROR" "$WORK/port" <<'PY' >"$WORK/http.log" 2>&1 &
import functools, http.server, os, sys
root, port_file = sys.argv[1], sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
HTTP_PID=$!
trap 'kill "$HTTP_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT="$(cat "$WORK/port")"

cd "$ROOT"
if [ -z "${KHEADERS:-}" ]; then
    cargo build -q --bin kheaders
    KHEADERS="$ROOT/target/debug/kheaders"
fi

# winning repository (host/path) | release | distro | version | arch | dnf pattern
CASES=(
"vault.centos.org/6.10/updates/x86_64|2.6.32-754.35.1.el6.x86_64|centos|6|x86_64|kernel-devel-2.6.32-754.35.1.el6.x86_64"
"vault.centos.org/7.6.1810/updates/x86_64|3.10.0-957.1.3.el7.x86_64.debug|centos|7|x86_64|kernel-debug-devel-3.10.0-957.1.3.el7.x86_64"
"vault.centos.org/7.2.1511/centosplus/x86_64|3.10.0-327.18.2.el7.centos.plus.x86_64|centos|7|x86_64|kernel-plus-devel-3.10.0-327.18.2.el7.centos.plus.x86_64"
"vault.centos.org/7.9.2009/rt/x86_64|3.10.0-1160.11.1.rt56.1145.el7.x86_64|centos|7|x86_64|kernel-rt-devel-3.10.0-1160.11.1.rt56.1145.el7.x86_64"
"yum.oracle.com/repo/OracleLinux/OL6/UEK/latest/x86_64|2.6.39-400.328.1.el6uek.x86_64|ol|6|x86_64|kernel-uek-devel-2.6.39-400.328.1.el6uek.x86_64"
"yum.oracle.com/repo/OracleLinux/OL7/MODRHCK/x86_64|3.10.0-1062.18.1.0.1.el7.x86_64|ol|7|x86_64|kernel-devel-3.10.0-1062.18.1.0.1.el7.x86_64"
"packages.vmware.com/photon/4.0/photon_updates_4.0_x86_64|5.10.103-1.ph4|photon|4.0|x86_64|linux-devel-5.10.103-1.ph4.x86_64"
"packages.vmware.com/photon/4.0/photon_updates_4.0_x86_64|5.10.103-1.ph4-esx|photon|4.0|x86_64|linux-esx-devel-5.10.103-1.ph4.x86_64"
"packages.vmware.com/photon/5.0/photon_release_5.0_x86_64|6.1.10-10.ph5|photon|5.0|x86_64|linux-devel-6.1.10-10.ph5.x86_64"
"download.opensuse.org/update/leap/15.5/sle|5.14.21-150500.55.39-default|opensuse-leap|15.5|x86_64|kernel-default-devel-5.14.21-150500.55.39.*.x86_64"
"download.opensuse.org/distribution/leap/15.5/repo/oss|5.14.21-150500.53-default|opensuse-leap|15.5|x86_64|kernel-default-devel-5.14.21-150500.53.*.x86_64"
)

MIRRORS=()
for h in vault.centos.org yum.oracle.com packages.vmware.com download.opensuse.org; do
    MIRRORS+=(--mirror "https://$h=http://127.0.0.1:$PORT/$h")
done

fail=0
n=0
for c in "${CASES[@]}"; do
    IFS='|' read -r repo release distro ver arch pattern <<<"$c"
    n=$((n + 1))
    url="http://127.0.0.1:$PORT/$repo/"
    dnf_loc="$(dnf -q --setopt=reposdir=/dev/null --setopt=cachedir="$WORK/dnf-cache" \
        --releasever=fixture --repofrompath="t,$url" --repo=t \
        repoquery --latest-limit 1 --qf '%{location}' "$pattern" 2>"$WORK/dnf.err" | tail -1 || true)"
    dnf_file="${dnf_loc##*/}"
    if ! "$KHEADERS" resolve "$release" --distro "$distro" --distro-version "$ver" --arch "$arch" \
        "${MIRRORS[@]}" --cache-dir "$WORK/cache" --dry-run --json >"$WORK/kh.json" 2>"$WORK/kh.err"; then
        echo "[$n] $release: kheaders failed: $(tail -1 "$WORK/kh.err")"
        fail=1
        continue
    fi
    read -r kh_url kh_sha < <("$PY" -c 'import json,sys; p=json.load(open(sys.argv[1]))["packages"][0]; print(p["url"], p["sha256"])' "$WORK/kh.json")
    kh_file="${kh_url##*/}"
    served="$MIRROR/$repo/${kh_url#"$url"}"
    if [ -z "$dnf_file" ]; then
        echo "[$n] $release: dnf found nothing for $pattern in $repo ($(tail -1 "$WORK/dnf.err"))"
        fail=1
    elif [ "$kh_file" != "$dnf_file" ]; then
        echo "[$n] $release: DISAGREE dnf=$dnf_file kheaders=$kh_file"
        fail=1
    elif [ "${kh_url#"$url"}" = "$kh_url" ]; then
        echo "[$n] $release: kheaders chose another repository: $kh_url (dnf: $repo)"
        fail=1
    elif [ "$(sha256sum "$served" | cut -d' ' -f1)" != "$kh_sha" ]; then
        echo "[$n] $release: sha256 of $served differs from kheaders' $kh_sha"
        fail=1
    else
        echo "[$n] $release ($distro $ver): AGREE $kh_file"
    fi
done
if [ "$fail" = 0 ]; then
    echo "dnf and kheaders agree on all $n cases"
fi
exit "$fail"
