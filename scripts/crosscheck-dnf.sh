#!/usr/bin/env bash
# Cross-checks kheaders' dnf source against real dnf on the RPM fixture repositories.
#
# For every case, the fixture repository is served on loopback and both tools are asked for
# the same kernel's devel package:
#   dnf --setopt=reposdir=/dev/null --repofrompath=t,URL --repo=t repoquery --latest-limit 1 NVRA
#   kheaders resolve RELEASE --distro D --distro-version V --config F --no-default-sources --dry-run --json
# They must agree on name, epoch:version-release, arch and package URL; kheaders' sha256 must
# equal the served file's. A kernel the repository does not carry must be absent for both.
# Then the signed repomd.xml of the Rocky and Alma fixtures: dnf with repo_gpgcheck=1 and
# kheaders with a source `keyring` must both accept the test key's signature
# (fixtures/rpm/keys/test-repo.asc) and both reject it under another key (unknown.asc).
#
# Needs: dnf, python3, cargo. Usage: scripts/crosscheck-dnf.sh   (exit 0 = all agree)
# KHEADERS=/path/to/kheaders uses that binary instead of building one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MIRROR="$ROOT/fixtures/rpm/mirror"
WORK="$(mktemp -d)"
PORT="${PORT:-$((20000 + RANDOM % 20000))}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

"$PY" -m http.server "$PORT" --bind 127.0.0.1 --directory "$MIRROR" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
trap 'kill "$HTTP_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
    "$PY" -c 'import sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1])' "$PORT" >/dev/null 2>&1 && break
    sleep 0.1
done

cd "$ROOT"
if [ -z "${KHEADERS:-}" ]; then
    cargo build -q --bin kheaders
    KHEADERS="$ROOT/target/debug/kheaders"
fi

# repo path | release | distro | distro version | arch | package name | expect (found/absent)
CASES=(
"fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64|6.8.9-300.fc40.x86_64|fedora|40|x86_64|kernel-devel|found"
"fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64|6.8.9-300.fc40.x86_64+debug|fedora|40|x86_64|kernel-debug-devel|found"
"fedoraproject-updates-archive.fedoraproject.org/fedora/40/x86_64|6.8.9-300.fc40.aarch64|fedora|40|aarch64|kernel-devel|found"
"dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64|6.7.0-100.fc40.x86_64|fedora|40|x86_64|kernel-devel|found"
"dl.fedoraproject.org/pub/fedora/linux/updates/40/Everything/x86_64|6.8.9-300.fc40.x86_64|fedora|40|x86_64|kernel-devel|absent"
"cdn.amazonlinux.com/al2023/core/guids/2f4e6f1c-5d0b-4c8a-9f3e-1b2a3c4d5e6f/x86_64|6.12.40-63.114.amzn2023.x86_64|amzn|2023|x86_64|kernel6.12-devel|found"
"cdn.amazonlinux.com/al2023/core/guids/2f4e6f1c-5d0b-4c8a-9f3e-1b2a3c4d5e6f/x86_64|6.1.55-75.123.amzn2023.x86_64|amzn|2023|x86_64|kernel-devel|found"
"vault.almalinux.org/9.3/AppStream/x86_64/os|5.14.0-362.8.1.el9_3.x86_64|almalinux|9|x86_64|kernel-devel|found"
"vault.centos.org/7.9.2009/updates/x86_64|3.10.0-1160.119.1.el7.x86_64|centos|7|x86_64|kernel-devel|found"
"yum.oracle.com/repo/OracleLinux/OL8/UEKR7/x86_64|5.15.0-200.131.27.el8uek.x86_64|ol|8|x86_64|kernel-uek-devel|found"
)

fail=0
n=0
for c in "${CASES[@]}"; do
    IFS='|' read -r repo release distro ver arch name expect <<<"$c"
    n=$((n + 1))
    url="http://127.0.0.1:$PORT/$repo/"
    vr="${release%.*}"          # strip .arch(+flavour)
    vr="${vr%.x86_64}"; vr="${vr%.aarch64}"
    nvra="$name-${vr}.$arch"
    # --- dnf
    dnf_out=$(dnf -q --setopt=reposdir=/dev/null --setopt=cachedir="$WORK/dnf-$n" \
        --setopt=skip_if_unavailable=False --releasever="$ver" --forcearch="$arch" \
        --repofrompath=t,"$url" --repo=t repoquery --latest-limit 1 \
        --qf '%{name}|%{epoch}|%{version}|%{release}|%{arch}|%{location}' "$nvra" 2>"$WORK/dnf-$n.err" || true)
    # --- kheaders
    cat >"$WORK/k-$n.toml" <<TOML
[[source]]
kind = "dnf"
name = "crosscheck"
base_url = "$url"
TOML
    set +e
    "$KHEADERS" resolve "$release" --distro "$distro" --distro-version "$ver" --arch "$arch" \
        --config "$WORK/k-$n.toml" --no-default-sources --dry-run --json \
        --cache-dir "$WORK/cache-$n" >"$WORK/k-$n.json" 2>"$WORK/k-$n.err"
    rc=$?
    set -e
    verdict=$("$PY" - "$WORK/k-$n.json" "$rc" "$dnf_out" "$expect" "$MIRROR" "$PORT" "$url" <<'PY'
import json, posixpath, sys, hashlib, urllib.parse
path, rc, dnf_out, expect, mirror, port, repo_url = sys.argv[1:]
def norm(u):
    p = urllib.parse.urlsplit(u)
    return urllib.parse.urlunsplit(p._replace(path=posixpath.normpath(p.path)))
dnf = None
if dnf_out.strip():
    n, e, v, r, a, loc = dnf_out.strip().splitlines()[0].split("|")
    ver = f"{v}-{r}" if e in ("0", "") else f"{e}:{v}-{r}"
    dnf = (n, ver, a, norm(urllib.parse.urljoin(repo_url, loc)))
kh = None
if rc == "0":
    doc = json.load(open(path))
    p = doc["packages"][0]
    url = p.get("url") or (p.get("urls") or [None])[0]
    kh = (p["name"], p["version"], p["arch"], norm(url))
    sha = p.get("sha256") or (p.get("expected") or {}).get("sha256")
    prefix = f"http://127.0.0.1:{port}/"
    local = mirror + "/" + norm(url)[len(prefix):]
    real = hashlib.sha256(open(local, "rb").read()).hexdigest()
    if sha and sha != real:
        print(f"DIFFER sha256 kheaders={sha} file={real}"); sys.exit()
if dnf == kh and ((dnf is None) == (expect == "absent")):
    print(f"AGREE {kh}")
else:
    print(f"DIFFER dnf={dnf} kheaders={kh} (kheaders exit {rc}, expected {expect})")
PY
)
    echo "[$n] $release ($repo): $verdict"
    case "$verdict" in AGREE*) ;; *) fail=1; sed 's/^/    kheaders: /' "$WORK/k-$n.err" | tail -5; sed 's/^/    dnf: /' "$WORK/dnf-$n.err" | tail -5 ;; esac
done
# --- repomd.xml.asc: repo path | release | distro | version
SIGNED=(
"dl.rockylinux.org/pub/rocky/9/AppStream/x86_64/os|5.14.0-503.14.1.el9_5.x86_64|rocky|9"
"vault.almalinux.org/9.3/AppStream/x86_64/os|5.14.0-362.8.1.el9_3.x86_64|almalinux|9"
)
for c in "${SIGNED[@]}"; do
    IFS='|' read -r repo release distro ver <<<"$c"
    url="http://127.0.0.1:$PORT/$repo/"
    for key in test-repo unknown; do
        n=$((n + 1))
        keyfile="$ROOT/fixtures/rpm/keys/$key.asc"
        # -y imports the key dnf is given (what `gpgkey=` in a .repo file does).
        dnf_out=$(dnf -q -y --setopt=reposdir=/dev/null --setopt=cachedir="$WORK/dnf-$n" \
            --setopt=skip_if_unavailable=False --releasever="$ver" --repofrompath=t,"$url" --repo=t \
            --setopt=t.repo_gpgcheck=1 --setopt=t.gpgkey="file://$keyfile" \
            repoquery --qf '%{name}' kernel-devel 2>"$WORK/dnf-$n.err" || true)
        dnf_ok=no
        grep -qx kernel-devel <<<"$dnf_out" && dnf_ok=yes
        printf '[[source]]\nkind = "dnf"\nname = "signed"\nbase_url = "%s"\nkeyring = "%s"\n' \
            "$url" "$keyfile" >"$WORK/k-$n.toml"
        set +e
        "$KHEADERS" resolve "$release" --distro "$distro" --distro-version "$ver" --arch x86_64 \
            --config "$WORK/k-$n.toml" --no-default-sources --dry-run --json \
            --cache-dir "$WORK/cache-$n" >"$WORK/k-$n.json" 2>"$WORK/k-$n.err"
        rc=$?
        set -e
        # Accepted is exit 0; rejected must be the integrity exit code (4), nothing else.
        case "$rc" in 0) kh_ok=yes ;; 4) kh_ok=no ;; *) kh_ok="exit-$rc" ;; esac
        want=yes
        [ "$key" = unknown ] && want=no
        if [ "$dnf_ok" = "$want" ] && [ "$kh_ok" = "$want" ]; then
            echo "[$n] repomd.xml.asc of $repo under $key.asc: AGREE (accepted: $want)"
        else
            fail=1
            echo "[$n] repomd.xml.asc of $repo under $key.asc: DIFFER dnf=$dnf_ok kheaders=$kh_ok (expected $want)"
            sed 's/^/    kheaders: /' "$WORK/k-$n.err" | tail -5
            sed 's/^/    dnf: /' "$WORK/dnf-$n.err" | tail -5
        fi
    done
done

if [ "$fail" = 0 ]; then
    echo "dnf and kheaders agree on all $n cases"
else
    echo "dnf and kheaders DISAGREE" >&2
    exit 1
fi
