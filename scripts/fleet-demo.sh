#!/usr/bin/env bash
# The fleet pipeline end to end on loopback: a real S3 server (SeaweedFS), two nodes running
# `kheaders serve` with the shared cache tier, and two build workers that fetch the unpacked
# tree over HTTP (`curl .../v1/tree | tar -x`) and build a kernel module against it. Worker 1
# asks node 1 (cold: node 1 resolves upstream and publishes to the tier); worker 2 asks node 2,
# which has an empty cache of its own and is served by the tier: zero upstream requests.
#
#   bash scripts/fleet-demo.sh
#
# Upstream is the real Debian bookworm packages and signed indexes that
# scripts/e2e-module-build.sh fetches (`apt-get download`, cached in ~/.cache/kheaders-e2e),
# served on loopback by a server that counts requests. Needs: cargo, python3, curl, gcc,
# make, bc, flex, bison, libelf-dev (apt-get install ...), network on the first run only.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
cd "$HERE"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kheaders-fleet.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    bash scripts/s3-server.sh stop "$WORK/s3" 2>/dev/null || true
    [ "${KHEADERS_FLEET_KEEP:-0}" = 1 ] && echo "fleet: work dir kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "fleet: $*" >&2; }
die() { echo "fleet: FAIL: $*" >&2; exit 1; }

# 1. Upstream: the real bookworm packages, served and counted.
bash scripts/e2e-module-build.sh --data-only
MIRROR="${KHEADERS_E2E_CACHE:-$HOME/.cache/kheaders-e2e}/mirror"
RELEASE="$(cat "$MIRROR/abi")-amd64"
python3 scripts/counting-http-server.py "$MIRROR" "$WORK/upstream.port" "$WORK/upstream.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/upstream.port" ] && break; sleep 0.1; done
UP="http://127.0.0.1:$(cat "$WORK/upstream.port")"
touch "$WORK/upstream.log"
upstream() { wc -l <"$WORK/upstream.log" | tr -d ' '; }

# 2. The shared tier: a real S3 server on loopback.
S3_URL="$(bash scripts/s3-server.sh start "$WORK/s3" kheaders-fleet)"
eval "$(bash scripts/s3-server.sh env "$WORK/s3")"
log "S3 (SeaweedFS) at $AWS_ENDPOINT_URL, bucket kheaders-fleet"

# 3. Two nodes running kheaders serve, each with its own cache, sharing the tier.
cargo build -q --bin kheaders
start_node() {
    local n=$1
    target/debug/kheaders serve --listen 127.0.0.1:0 --cache-dir "$WORK/node$n-cache" \
        --shared-cache s3://kheaders-fleet/demo \
        --mirror "https://deb.debian.org/debian=$UP/debian" \
        --mirror "https://deb.debian.org/debian-security=$UP/debian-security" \
        >/dev/null 2>"$WORK/node$n.log" &
    PIDS+=($!)
}
node_url() {
    for _ in $(seq 100); do grep -q "listening on" "$WORK/node$1.log" 2>/dev/null && break; sleep 0.1; done
    sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$WORK/node$1.log" | awk 'NR == 1'
}
start_node 1
start_node 2
NODE1="$(node_url 1)"
NODE2="$(node_url 2)"
[ -n "$NODE1" ] && [ -n "$NODE2" ] || die "a node did not start (see $WORK/node*.log)"
log "node 1 at $NODE1, node 2 at $NODE2"

# 4. A build worker: fetch the tree over HTTP, build a module, check its vermagic.
QUERY="release=$RELEASE&arch=x86_64&distro=debian&distro_version=12"
worker() {
    local n=$1 node=$2 w="$WORK/worker$1"
    mkdir -p "$w/tree" "$w/module"
    local started=$(date +%s.%N)
    curl -fsS -D "$w/headers" "$node/v1/tree?$QUERY" | tar -x -C "$w/tree"
    local build_dir
    build_dir="$(sed -n 's/^x-kheaders-build-dir: *\(.*\)\r$/\1/Ip' "$w/headers")"
    [ -f "$w/tree/$build_dir/Makefile" ] || die "worker $n: no Makefile in $build_dir"
    cat >"$w/module/hello.c" <<'C'
#include <linux/init.h>
#include <linux/module.h>
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kheaders fleet demo");
static int __init hello_init(void) { pr_info("hello\n"); return 0; }
static void __exit hello_exit(void) { }
module_init(hello_init);
module_exit(hello_exit);
C
    echo 'obj-m := hello.o' >"$w/module/Makefile"
    make -C "$w/tree/$build_dir" M="$w/module" modules >"$w/build.log" 2>&1 || {
        tail -30 "$w/build.log" >&2; die "worker $n: module build failed"; }
    local vermagic
    vermagic="$(modinfo -F vermagic "$w/module/hello.ko")"
    case "$vermagic" in "$RELEASE "*) ;; *) die "worker $n: vermagic '$vermagic'" ;; esac
    printf 'fleet: worker %s: tree from %s, hello.ko built (vermagic %s) in %.1f s\n' \
        "$n" "$node" "$vermagic" "$(echo "$(date +%s.%N) - $started" | bc)" >&2
}

before=$(upstream)
worker 1 "$NODE1"
after1=$(upstream)
# Worker 2 first asks node 2 what it would get (POST /v1/resolve), then fetches the tree.
curl -fsS -X POST "$NODE2/v1/resolve" -H 'content-type: application/json' \
    -d "{\"release\":\"$RELEASE\",\"arch\":\"x86_64\",\"distro\":\"debian\",\"distro_version\":\"12\"}" \
    >"$WORK/node2-resolve.json"
python3 - "$WORK/node2-resolve.json" <<'PY' >&2
import json, sys
d = json.load(open(sys.argv[1]))
for a in d["attempts"]:
    print(f"fleet: node 2 attempt: {a['source']} {a['outcome']}: {a['detail'][:200]}")
PY
worker 2 "$NODE2"
after2=$(upstream)
hits=$(curl -fsS "$NODE2/metrics" | sed -n 's/^kheaders_shared_cache_hits_total \([0-9]*\)/\1/p')
echo "upstream requests: worker 1 (cold, node 1): $((after1 - before)); worker 2 (node 2, via the shared tier): $((after2 - after1)); node 2 shared-cache hits: $hits"
[ "$((after2 - after1))" = 0 ] || die "worker 2 went upstream"
[ "${hits:-0}" -ge 1 ] || die "node 2 reports no shared-cache hit"
log "OK"
