#!/usr/bin/env bash
# The job kheaders exists for, end to end on loopback: resolve a real Debian 12 kernel through
# the *default catalog chain*, download and verify its header packages, unpack them into a
# relocatable tree, and build a kernel module against it.
#
#   bash scripts/demo.sh             the whole job (real bookworm packages, a module built)
#   bash scripts/demo.sh --dry-run   locate only, against the bundled fixture mirror
#                                    (real bookworm Packages paragraphs; any fresh machine
#                                    with cargo and python3, no network)
#
# The whole job fetches what it needs with the platform's package tools: the build tools
# with `apt-get install` (when run as root on Debian/Ubuntu and missing), the real kernel
# header packages and signed indexes with `apt-get download` / apt-helper (once; cached in
# ~/.cache/kheaders-e2e by scripts/e2e-module-build.sh --data-only). Every upstream URL is
# rewritten onto a loopback server, so the resolver itself never leaves the machine.
# Prints the `resolve --json` document on stdout; the steps go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
DRY_RUN=0
[ "${1:-}" = --dry-run ] && { DRY_RUN=1; shift; }

cargo build -q --bin kheaders
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

serve() { # serve DIR: a loopback HTTP server for DIR, its base URL in $base
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$1" >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 50); do
        python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
        sleep 0.1
    done
    base="http://127.0.0.1:$port"
}

if [ "$DRY_RUN" = 1 ]; then
    release=${1:-6.1.0-47-amd64}
    serve fixtures/deb/mirrors
    # The fixture indexes are trimmed, so they are re-signed with the fixture's test key.
    printf 'keyrings = ["%s/fixtures/deb/keys/test-archive.asc"]\n' "$PWD" >"$work/demo.toml"
    target/debug/kheaders resolve "$release" --distro debian --distro-version 12 --arch x86_64 \
        --config "$work/demo.toml" --cache-dir "$work/cache" --dry-run --json \
        --mirror "https://deb.debian.org/debian=$base/debian" \
        --mirror "https://deb.debian.org/debian-security=$base/debian-security" \
        --mirror "https://archive.debian.org/debian=$base/debian-archive" \
        --mirror "https://snapshot.debian.org=$base/snapshot"
    exit
fi

# The build tools a module needs, through the platform's package manager when missing.
need=()
for t in gcc make bc flex bison modinfo; do command -v "$t" >/dev/null || need+=("$t"); done
[ -e /usr/include/libelf.h ] || need+=(libelf)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "demo: apt-get install build tools (missing: ${need[*]})" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            gcc make bc flex bison libelf-dev kmod >/dev/null
    else
        echo "demo: missing ${need[*]}: install gcc make bc flex bison libelf-dev kmod" >&2
        exit 1
    fi
fi

# Real bookworm header packages and signed indexes (apt-get download; cached after once).
bash scripts/e2e-module-build.sh --data-only
mirror="${KHEADERS_E2E_CACHE:-$HOME/.cache/kheaders-e2e}/mirror"
release="$(cat "$mirror/abi")-amd64"
serve "$mirror"
echo "demo: resolving $release through the default Debian 12 chain (upstream rewritten to $base)" >&2
target/debug/kheaders resolve "$release" --distro debian --distro-version 12 --arch x86_64 \
    --cache-dir "$work/cache" --unpack "$work/tree" --json \
    --mirror "https://deb.debian.org/debian=$base/debian" \
    --mirror "https://deb.debian.org/debian-security=$base/debian-security" >"$work/resolve.json"
cat "$work/resolve.json"
build_dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tree"]["build_dir"])' "$work/resolve.json")

mkdir -p "$work/module"
cat >"$work/module/hello.c" <<'C'
#include <linux/init.h>
#include <linux/module.h>
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kheaders demo");
static int __init hello_init(void) { pr_info("hello\n"); return 0; }
static void __exit hello_exit(void) { }
module_init(hello_init);
module_exit(hello_exit);
C
echo 'obj-m := hello.o' >"$work/module/Makefile"
echo "demo: make -C $build_dir M=\$PWD modules" >&2
make -C "$build_dir" M="$work/module" modules >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
vermagic="$(modinfo -F vermagic "$work/module/hello.ko")"
case "$vermagic" in
    "$release "*) echo "demo: OK: hello.ko built against the resolved tree; vermagic: $vermagic" >&2 ;;
    *) echo "demo: FAIL: vermagic '$vermagic' does not name $release" >&2; exit 1 ;;
esac
