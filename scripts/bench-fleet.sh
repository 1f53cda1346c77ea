#!/usr/bin/env bash
# Upstream requests and wall time for N workers resolving one kernel at once, each with an
# empty cache of its own (N machines), without and with the shared cache tier.
#
#   bash scripts/bench-fleet.sh [N]      (default 8)
#
# Upstream: the real bookworm header packages and signed indexes (scripts/e2e-module-build.sh
# --data-only), served on loopback by a server that counts requests. Tier: SeaweedFS on
# loopback (scripts/s3-server.sh). Each worker is a `kheaders resolve` process (download and
# verify, no unpack). Loopback makes upstream free, so the wall times here understate what a
# real, throttled upstream costs; the request counts are what the tier saves.
set -euo pipefail
N=${1:-8}
HERE="$(cd "$(dirname "$0")/.." && pwd)"
cd "$HERE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kheaders-bench-fleet.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    bash scripts/s3-server.sh stop "$WORK/s3" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

bash scripts/e2e-module-build.sh --data-only >/dev/null 2>&1
MIRROR="${KHEADERS_E2E_CACHE:-$HOME/.cache/kheaders-e2e}/mirror"
RELEASE="$(cat "$MIRROR/abi")-amd64"
python3 scripts/counting-http-server.py "$MIRROR" "$WORK/up.port" "$WORK/up.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/up.port" ] && break; sleep 0.1; done
UP="http://127.0.0.1:$(cat "$WORK/up.port")"
touch "$WORK/up.log"
bash scripts/s3-server.sh start "$WORK/s3" kheaders-bench >/dev/null
eval "$(bash scripts/s3-server.sh env "$WORK/s3")"
cargo build -q --bin kheaders
BIN=target/debug/kheaders

run() { # run LABEL [--shared-cache URL]
    local label=$1; shift
    : >"$WORK/up.log"
    local t0; t0=$(date +%s.%N)
    local pids=()
    for i in $(seq "$N"); do
        "$BIN" resolve "$RELEASE" --distro debian --distro-version 12 --arch x86_64 \
            --cache-dir "$WORK/$label-cache-$i" --json "$@" \
            --mirror "https://deb.debian.org/debian=$UP/debian" \
            --mirror "https://deb.debian.org/debian-security=$UP/debian-security" \
            >"$WORK/$label-$i.json" 2>"$WORK/$label-$i.err" &
        pids+=($!)
    done
    local failed=0
    for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
    local t1; t1=$(date +%s.%N)
    local reqs pkgs
    reqs=$(wc -l <"$WORK/up.log" | tr -d ' ')
    pkgs=$(grep -c '\.deb ' "$WORK/up.log" || true)
    printf '%-22s workers=%-3s failed=%-2s upstream requests=%-4s package downloads=%-4s wall=%.2f s\n' \
        "$label" "$N" "$failed" "$reqs" "$pkgs" "$(echo "$t1 - $t0" | bc)"
}

echo "kernel $RELEASE, $N concurrent workers, empty caches, $(nproc) cores"
run without-tier
run with-tier --shared-cache "s3://kheaders-bench/run-$$"
run with-tier-warm --shared-cache "s3://kheaders-bench/run-$$"
