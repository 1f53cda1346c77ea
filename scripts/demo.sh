#!/usr/bin/env bash
# The main job, offline: resolve a real Debian 12 kernel (real Packages paragraphs from
# bookworm, see fixtures/deb/README.md) through the *default catalog chain*, with every
# upstream URL rewritten onto the bundled fixture mirror served on loopback.
#
#   bash scripts/demo.sh [RELEASE]     (default 6.1.0-47-amd64)
#
# Needs cargo and python3. Prints the JSON document kheaders writes (packages with sha256,
# every attempt); the human summary goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
release=${1:-6.1.0-47-amd64}

cargo build -q --bin kheaders
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory fixtures/deb/mirrors >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
    sleep 0.1
done

# The fixture indexes are trimmed, so they are re-signed with the fixture's test key.
cat > "$work/demo.toml" <<TOML
keyrings = ["$PWD/fixtures/deb/keys/test-archive.asc"]
TOML

base="http://127.0.0.1:$port"
target/debug/kheaders resolve "$release" --distro debian --distro-version 12 --arch x86_64 \
    --config "$work/demo.toml" --cache-dir "$work/cache" --dry-run --json \
    --mirror "https://deb.debian.org/debian=$base/debian" \
    --mirror "https://deb.debian.org/debian-security=$base/debian-security" \
    --mirror "https://archive.debian.org/debian=$base/debian-archive" \
    --mirror "https://snapshot.debian.org=$base/snapshot"
