#!/usr/bin/env bash
# The performance table of the README, measured side by side in one run: kheaders against
# the tools a user would otherwise run and against the floor (bare decompression by the
# distro's own tool), on the same loopback mirror. Every row prints the median of RUNS runs
# (the kheaders run and its references interleaved, so load drifts hit them alike), the
# ratio to each reference and floor, and the target from issue 9.
#
#   scripts/bench-compare.sh                 # RUNS=5, every row
#   RUNS=3 ROWS="deb dnf" scripts/bench-compare.sh
#   KHEADERS=/path/to/kheaders SYNTH=/path/to/synthetic_primary scripts/bench-compare.sh
#                                            # skip the release build
#
# Rows (ROWS selects groups): deb (cold locate on real bookworm Packages; warm same / other
# kernel), link (.gz vs .xz on a fast and a throttled link), dnf (80k-package primary.xml.zst;
# warm rows; dnf repoquery), rss (peak RSS at 80k and 320k packages), debx (fetch + unpack
# the real Debian closure), rpm (fetch + unpack a 20k-file kernel-devel RPM).
#
# Inputs: real bookworm InRelease + main/binary-amd64/Packages.{xz,gz} and the closure's
# .debs, fetched with apt's own downloader into $KHEADERS_REAL_DATA (default
# ~/.cache/kheaders-real-data, reused); a synthetic Fedora-shaped repository written by the
# library's own generator (`cargo run --example synthetic_primary`), zstd-compressed like
# createrepo_c; a kernel-devel RPM built with rpmbuild and indexed with createrepo_c.
# Needs: gzip xz zstd apt-get dpkg-deb dnf createrepo_c rpmbuild rpm2cpio cpio python3
# /usr/bin/time (Debian 12: apt-get install zstd dnf createrepo-c rpm cpio time).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-5}"
ROWS="${ROWS:-deb link dnf rss debx rpm}"
DATA="${KHEADERS_REAL_DATA:-$HOME/.cache/kheaders-real-data}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# The work tree (mirrors, caches, unpacked trees) lives under BENCH_DIR, by default the
# build's target/: on this machine a fresh directory under /tmp unpacked the closure with
# `dpkg-deb -x` in 4.2-4.9 s of system time against 0.7 s under /work on the same ext4
# file system, for whatever the kernel keeps about /tmp, and that drowned every ratio.
mkdir -p "${BENCH_DIR:-$ROOT/target}"
WORK="$(mktemp -d "${BENCH_DIR:-$ROOT/target}/kheaders-bench.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
want() { [[ " $ROWS " == *" $1 "* ]]; }
# aside PATH...: moves what a run left out of the way instead of deleting it. Deleting a
# 16k-file tree on a file system mounted with `discard` stalls the next journal commit for
# seconds, inside whichever run is timed next (measured: `dpkg-deb -x` of the closure took
# 11.7 s right after an `rm -rf` of the previous tree, 0.78 s in a fresh directory). The
# moved trees go with $WORK at the end.
mkdir -p "$WORK/aside"
aside() {
    local p; for p; do if [ -e "$p" ]; then mv "$p" "$(mktemp -u -p "$WORK/aside")"; fi; done
}
log() { echo "$*" >&2; }

# ---- the binary ---------------------------------------------------------------------------
if [ -z "${KHEADERS:-}" ]; then
    log "building kheaders and the synthetic primary generator (release)"
    (cd "$ROOT" && cargo build -q --release --bin kheaders --example synthetic_primary --example resolve)
    KHEADERS="$ROOT/target/release/kheaders"
fi
# The library's own generator of Fedora-shaped primaries (examples/synthetic_primary.rs).
SYNTH="${SYNTH:-$ROOT/target/release/examples/synthetic_primary}"
# The library's resolve path as a program (examples/resolve.rs): `--after` unpacks only once
# every package is downloaded, the reference for unpacking each package as it is verified.
RESOLVE_EX="${RESOLVE_EX:-$ROOT/target/release/examples/resolve}"

# ---- timing -------------------------------------------------------------------------------
# now_us: monotonic-enough wall clock in microseconds.
now_us() { local t; t=$(date +%s%N); echo $((t / 1000)); }
# run_timed FN: runs FN_pre (when defined, untimed) then FN; prints the wall seconds of FN.
run_timed() {
    local fn=$1 s e
    if declare -F "${fn}_pre" >/dev/null; then "${fn}_pre" >/dev/null 2>&1; fi
    s=$(now_us)
    if ! "$fn" >"$WORK/last.out" 2>"$WORK/last.err"; then
        log "FAILED: $fn"; cat "$WORK/last.out" "$WORK/last.err" >&2; exit 1
    fi
    e=$(now_us)
    awk -v a="$s" -v b="$e" 'BEGIN{printf "%.4f", (b-a)/1e6}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
fmt_s() { awk -v t="$1" 'BEGIN{ if (t < 0.1) printf "%.1f ms", t*1000; else printf "%.2f s", t }'; }

TABLE="$WORK/table.md"
echo "| task | kheaders | compared with | ratio | target | |" >"$TABLE"
echo "|---|---|---|---|---|---|" >>"$TABLE"

# row LABEL KFN [REF_LABEL REF_FN TARGET_RATIO]...  TARGET_RATIO "-" means no target.
row() {
    local label=$1 kfn=$2; shift 2
    local -a rl rf rt; while (($#)); do rl+=("$1"); rf+=("$2"); rt+=("$3"); shift 3; done
    local -a kt; local i j
    declare -A acc=()
    for ((i = 0; i < RUNS; i++)); do
        for j in "${!rf[@]}"; do acc[$j]+="$(run_timed "${rf[$j]}") "; done
        kt+=("$(run_timed "$kfn")")
    done
    local km; km=$(median "${kt[@]}")
    for j in "${!rf[@]}"; do
        # shellcheck disable=SC2086
        local rm; rm=$(median ${acc[$j]})
        local ratio; ratio=$(awk -v k="$km" -v r="$rm" 'BEGIN{printf "%.2f", k/r}')
        local verdict="" target="${rt[$j]}"
        if [ "$target" != "-" ]; then
            verdict=$(awk -v x="$ratio" -v t="$target" 'BEGIN{ if (x <= t) print "met"; else printf "missed by %.0f%%", (x/t-1)*100 }')
            target="≤ ${target}×"
        else
            target=""
        fi
        printf '| %s | %s | %s %s | %s× | %s | %s |\n' "$label" "$(fmt_s "$km")" "${rl[$j]}" "$(fmt_s "$rm")" \
            "$ratio" "$target" "$verdict" | tee -a "$TABLE"
    done
}

# ---- a mirror on loopback -------------------------------------------------------------------
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# serve DIR [ARGS...]: starts scripts/loopback-mirror.py, prints its port.
serve() {
    local dir=$1 port; shift
    port=$(free_port)
    "$PY" "$ROOT/scripts/loopback-mirror.py" "$dir" "$port" "$@" >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        "$PY" -c 'import sys,urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/__counts__" % sys.argv[1])' "$port" 2>/dev/null && break
        sleep 0.05
    done
    echo "$port"
}

# ---- Debian: real bookworm data ---------------------------------------------------------------
fetch() { # fetch URL DEST: apt's own downloader, reused when present
    [ -s "$2" ] && return 0
    mkdir -p "$(dirname "$2")"
    /usr/lib/apt/apt-helper download-file "$1" "$2.part" >/dev/null && mv "$2.part" "$2"
}
setup_deb() {
    local d="$DATA/debian/dists/bookworm" base=http://deb.debian.org/debian/dists/bookworm
    # A cached InRelease younger than a day is reused with the indexes it names.
    if [ -n "$(find "$d/InRelease" -mmin +1440 2>/dev/null)" ]; then rm -f "$d/InRelease" "$d"/main/binary-amd64/Packages.*; fi
    fetch "$base/InRelease" "$d/InRelease"
    fetch "$base/main/binary-amd64/Packages.xz" "$d/main/binary-amd64/Packages.xz"
    fetch "$base/main/binary-amd64/Packages.gz" "$d/main/binary-amd64/Packages.gz"
    MIRROR="$WORK/deb-mirror"
    mkdir -p "$MIRROR/debian/dists"
    ln -s "$d" "$MIRROR/debian/dists/bookworm"
    xz -dc "$d/main/binary-amd64/Packages.xz" >"$WORK/Packages"
    # The two newest linux-headers-6.1.0-N-amd64: the identity, and "another kernel".
    mapfile -t HDRS < <(grep -o '^Package: linux-headers-6\.1\.0-[0-9]*-amd64$' "$WORK/Packages" | cut -d' ' -f2 | sort -V | tail -2)
    DEB_REL=${HDRS[1]#linux-headers-}
    DEB_OTHER=${HDRS[0]#linux-headers-}
    log "Debian: $(stat -c %s "$WORK/Packages") bytes of Packages; identity $DEB_REL, other $DEB_OTHER"
    # The whole mirror (the source picks its index), and two that lack one compression.
    local pk=debian/dists/bookworm/main/binary-amd64/Packages
    DEB_PORT=$(serve "$MIRROR")
    deb_config "$WORK/deb.toml" "$DEB_PORT"
    deb_config "$WORK/deb-gz.toml" "$(serve "$MIRROR" --missing "$pk.xz")"
    deb_config "$WORK/deb-xz.toml" "$(serve "$MIRROR" --missing "$pk.gz")"
    # A private apt root pointed at the same mirror (no state of the machine's apt touched).
    APTROOT="$WORK/apt"
    mkdir -p "$APTROOT/etc/apt/apt.conf.d" "$APTROOT/etc/apt/preferences.d" "$APTROOT/lists/partial" \
        "$APTROOT/archives/partial" "$APTROOT/cache"
    : >"$APTROOT/status"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://127.0.0.1:$DEB_PORT/debian bookworm main" \
        >"$APTROOT/sources.list"
    APT_OPTS=(-q -o "Dir::Etc=$APTROOT/etc/apt" -o "Dir::Etc::sourcelist=$APTROOT/sources.list"
        -o "Dir::Etc::sourceparts=-" -o "Dir::State::lists=$APTROOT/lists" -o "Dir::State::status=$APTROOT/status"
        -o "Dir::Cache=$APTROOT/cache" -o "Dir::Cache::archives=$APTROOT/archives"
        -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o Acquire::Languages=none
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::CNF::DefaultEnabled=false
        -o APT::Sandbox::User=root -o Debug::NoLocking=1)
}
deb_config() {
    cat >"$1" <<TOML
[[source]]
kind = "apt"
name = "bench"
base_url = "http://127.0.0.1:$2/debian"
suites = ["bookworm"]
components = ["main"]
TOML
}
k_deb() { # k_deb CONFIG CACHE RELEASE [ARGS...]
    local cfg=$1 cache=$2 rel=$3; shift 3
    "$KHEADERS" resolve "$rel" --distro debian --distro-version 12 --arch x86_64 --config "$cfg" \
        --no-default-sources --cache-dir "$cache" --json "$@"
}

deb_cold_pre() { aside "$WORK/kc-deb"; }
deb_cold() { k_deb "$WORK/deb.toml" "$WORK/kc-deb" "$DEB_REL" --dry-run; }
deb_gz_cold_pre() { aside "$WORK/kc-gz"; }
deb_gz_cold() { k_deb "$WORK/deb-gz.toml" "$WORK/kc-gz" "$DEB_REL" --dry-run; }
deb_xz_cold_pre() { aside "$WORK/kc-xz"; }
deb_xz_cold() { k_deb "$WORK/deb-xz.toml" "$WORK/kc-xz" "$DEB_REL" --dry-run; }
gzip_floor() { gzip -dc "$MIRROR/debian/dists/bookworm/main/binary-amd64/Packages.gz" >/dev/null; }
xz_floor() { xz -dc "$MIRROR/debian/dists/bookworm/main/binary-amd64/Packages.xz" >/dev/null; }
apt_cold_pre() { aside "$APTROOT/lists" "$APTROOT/cache"; mkdir -p "$APTROOT/lists/partial" "$APTROOT/cache"; }
apt_cold() { apt-get "${APT_OPTS[@]}" update && apt-cache "${APT_OPTS[@]}" show "linux-headers-$DEB_REL"; }
deb_warm_same_pre() { [ -d "$WORK/kc-deb" ] || deb_cold; }
deb_warm_same() { k_deb "$WORK/deb.toml" "$WORK/kc-deb" "$DEB_REL" --dry-run; }
deb_warm_other_pre() { deb_warm_same_pre; }
deb_warm_other() { k_deb "$WORK/deb.toml" "$WORK/kc-deb" "$DEB_OTHER" --dry-run; }
deb_identity() { "$KHEADERS" identity "$DEB_REL" --distro debian --distro-version 12 --arch x86_64 --json; }

# ---- Debian: the closure's packages -------------------------------------------------------------
setup_debx() {
    deb_cold >"$WORK/closure.json"
    mapfile -t DEBS < <("$PY" - "$WORK/closure.json" "$WORK/Packages" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for p in doc["packages"]:
    print(p["url"].split("/debian/", 1)[1], p["sha256"], p["name"])
PY
)
    DEB_FILES=(); DEB_NAMES=()
    for line in "${DEBS[@]}"; do
        read -r rel sha name <<<"$line"
        local dest="$DATA/debian/$rel"
        fetch "http://deb.debian.org/debian/$rel" "$dest"
        echo "$sha  $dest" | sha256sum -c --quiet
        mkdir -p "$MIRROR/debian/$(dirname "$rel")"
        ln -sf "$dest" "$MIRROR/debian/$rel"
        DEB_FILES+=("$dest"); DEB_NAMES+=("$name")
    done
    log "Debian closure: ${DEB_NAMES[*]}"
    apt_cold_pre; apt-get "${APT_OPTS[@]}" update >/dev/null
    deb_cold >/dev/null # metadata warm, packages cold below
}
debx_pre() { aside "$WORK/kc-deb/packages-v1" "$WORK/kc-deb/resolutions-v1" "$WORK/tree-k"; }
debx() { k_deb "$WORK/deb.toml" "$WORK/kc-deb" "$DEB_REL" --unpack "$WORK/tree-k"; }
debx_after_pre() { debx_pre; }
debx_after() { # the library's two-step path: download every package, then unpack
    "$RESOLVE_EX" "$DEB_REL" --distro debian --distro-version 12 --config "${1:-$WORK/deb.toml}" \
        --no-default-sources --cache-dir "$WORK/kc-deb" --unpack "$WORK/tree-k" --after
}
apt_dl_x_pre() { aside "$WORK/dl" "$WORK/tree-a"; mkdir -p "$WORK/dl" "$WORK/tree-a"; }
apt_dl_x() {
    (cd "$WORK/dl" && apt-get "${APT_OPTS[@]}" download "${DEB_NAMES[@]}") || return 1
    local f; for f in "$WORK"/dl/*.deb; do dpkg-deb -x "$f" "$WORK/tree-a"; done
}
dpkg_x_pre() { aside "$WORK/tree-d"; mkdir -p "$WORK/tree-d"; }
dpkg_x() { local f; for f in "${DEB_FILES[@]}"; do dpkg-deb -x "$f" "$WORK/tree-d"; done; }

# ---- dnf: a Fedora-shaped repository ------------------------------------------------------------
make_repo() { # make_repo N DIR: repodata with an N-package zstd primary
    local n=$1 dir=$2
    mkdir -p "$dir/repodata"
    "$SYNTH" "$n" >"$WORK/primary-$n.xml"
    "$PY" - "$dir" "$WORK/primary-$n.xml" <<'PY'
import hashlib, subprocess, sys
repo, path = sys.argv[1], sys.argv[2]
xml = open(path, "rb").read()
zst = subprocess.run(["zstd", "-3", "-q", "-c", path], stdout=subprocess.PIPE, check=True).stdout
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
print(f"{xml.count(b'<package ')} packages: {len(zst)/1e6:.1f} MB zstd, {len(xml)/1e6:.1f} MB decompressed", file=sys.stderr)
PY
}
dnf_config() {
    cat >"$1" <<TOML
[[source]]
kind = "dnf"
name = "bench"
base_url = "http://127.0.0.1:$2/"
TOML
}
setup_dnf() {
    make_repo 80000 "$WORK/repo80k"
    DNF_ZST=$(ls "$WORK"/repo80k/repodata/*-primary.xml.zst)
    DNF_PORT=$(serve "$WORK/repo80k")
    dnf_config "$WORK/dnf.toml" "$DNF_PORT"
    # Packages 0 and 1000 of the generator: kernel-devel 6.0.0-300.fc40 and 6.0.30-300.fc40.
    DNF_REL=6.0.0-300.fc40.x86_64
    DNF_OTHER=6.0.30-300.fc40.x86_64
}
k_dnf() { # k_dnf CONFIG CACHE RELEASE [ARGS...]
    local cfg=$1 cache=$2 rel=$3; shift 3
    "$KHEADERS" resolve "$rel" --distro fedora --distro-version 40 --arch x86_64 --config "$cfg" \
        --no-default-sources --cache-dir "$cache" --json "$@"
}
dnf_cold_pre() { aside "$WORK/kc-dnf"; }
dnf_cold() { k_dnf "$WORK/dnf.toml" "$WORK/kc-dnf" "$DNF_REL" --dry-run; }
zstd_floor() { zstd -dc "$DNF_ZST" >/dev/null; }
repoquery_pre() { aside "$WORK/dnf-cache"; }
repoquery() {
    dnf -q --setopt=reposdir=/dev/null --setopt=cachedir="$WORK/dnf-cache" --releasever=40 \
        --repofrompath=b,"http://127.0.0.1:$DNF_PORT/" --repo=b repoquery --latest-limit 1 \
        "kernel-devel-${DNF_REL%.x86_64}.x86_64" | grep kernel-devel >/dev/null
}
dnf_warm_same_pre() { [ -d "$WORK/kc-dnf" ] || dnf_cold; }
dnf_warm_same() { k_dnf "$WORK/dnf.toml" "$WORK/kc-dnf" "$DNF_REL" --dry-run; }
dnf_warm_other_pre() { dnf_warm_same_pre; }
dnf_warm_other() { k_dnf "$WORK/dnf.toml" "$WORK/kc-dnf" "$DNF_OTHER" --dry-run; }
dnf_identity() { "$KHEADERS" identity "$DNF_REL" --distro fedora --distro-version 40 --arch x86_64 --json; }

# ---- RPM: a kernel-devel of 20k files -------------------------------------------------------------
setup_rpm() {
    local top="$WORK/rpmbuild" files=20000 per=100
    mkdir -p "$top/SPECS" "$WORK/rpmrepo"
    cat >"$top/SPECS/k.spec" <<SPEC
Name: kernel-devel
Version: 9.9.9
Release: 1.fc40
Summary: kheaders bench
License: MIT
BuildArch: x86_64
AutoReqProv: no
%description
bench
%install
K=%{buildroot}/usr/src/kernels/9.9.9-1.fc40.x86_64
mkdir -p \$K/include/generated \$K/scripts
printf 'all:\n' >\$K/Makefile
printf 'CONFIG_CC_VERSION_TEXT="gcc"\n' >\$K/.config
: >\$K/Module.symvers
: >\$K/include/generated/autoconf.h
echo '#define UTS_RELEASE "9.9.9-1.fc40.x86_64"' >\$K/include/generated/utsrelease.h
for d in \$(seq $((files / per))); do
  mkdir -p \$K/include/d\$d
  for f in \$(seq $per); do echo "/* header \$d/\$f */" >\$K/include/d\$d/f\$f.h; done
done
%files
/usr/src/kernels/9.9.9-1.fc40.x86_64
SPEC
    rpmbuild -bb --quiet --define "_topdir $top" --define "_binary_payload w19.zstdio" \
        --define "_build_id_links none" --define "__os_install_post %{nil}" "$top/SPECS/k.spec" >/dev/null
    RPM_FILE=$(ls "$top"/RPMS/x86_64/*.rpm)
    cp "$RPM_FILE" "$WORK/rpmrepo/"
    createrepo_c -q "$WORK/rpmrepo"
    RPM_PORT=$(serve "$WORK/rpmrepo")
    dnf_config "$WORK/rpm.toml" "$RPM_PORT"
    k_dnf "$WORK/rpm.toml" "$WORK/kc-rpm" 9.9.9-1.fc40.x86_64 --dry-run >/dev/null
}
rpmx_pre() { aside "$WORK/kc-rpm/packages-v1" "$WORK/kc-rpm/resolutions-v1" "$WORK/tree-r"; }
rpmx() { k_dnf "$WORK/rpm.toml" "$WORK/kc-rpm" 9.9.9-1.fc40.x86_64 --unpack "$WORK/tree-r"; }
rpm2cpio_x_pre() { aside "$WORK/tree-c"; mkdir -p "$WORK/tree-c"; }
rpm2cpio_x() { (cd "$WORK/tree-c" && rpm2cpio "$RPM_FILE" | cpio -idm --quiet); }

# ---- run ---------------------------------------------------------------------------------------
log "RUNS=$RUNS ROWS=\"$ROWS\"; load average $(cut -d' ' -f1-3 /proc/loadavg)"
if want deb || want link || want debx || want rss; then setup_deb; fi
if want dnf || want rss; then setup_dnf; fi

if want deb; then
    row "Debian 12 closure, cold locate (real bookworm Packages, loopback)" deb_cold \
        "gzip -dc Packages.gz" gzip_floor 1.3 \
        "apt-get update + apt-cache show" apt_cold 0.2
    row "Debian 12: the same identity again, warm" deb_warm_same "kheaders identity" deb_identity 2
    row "Debian 12: another kernel of the unchanged repo, warm" deb_warm_other "kheaders identity" deb_identity 3
fi
if want link; then
    row "cold locate from Packages.gz only, loopback at full speed" deb_gz_cold \
        "gzip -dc Packages.gz" gzip_floor 1.3 "the same from Packages.xz only" deb_xz_cold -
    row "cold locate from Packages.xz only, loopback at full speed" deb_xz_cold "xz -dc Packages.xz" xz_floor 1.3
    # Throttled links (Mbit/s): where .xz's smaller download starts to beat .gz's faster decode.
    pk=debian/dists/bookworm/main/binary-amd64/Packages
    for mbit in ${SLOW_MBITS:-100 20}; do
        rate=$((mbit * 125000))
        deb_config "$WORK/deb-slow-gz-$mbit.toml" "$(serve "$MIRROR" --rate "$rate" --missing "$pk.xz")"
        deb_config "$WORK/deb-slow-xz-$mbit.toml" "$(serve "$MIRROR" --rate "$rate" --missing "$pk.gz")"
        eval "slow_gz_${mbit}_pre() { aside \"\$WORK/kc-slow\"; }"
        eval "slow_gz_${mbit}() { k_deb \"\$WORK/deb-slow-gz-$mbit.toml\" \"\$WORK/kc-slow\" \"\$DEB_REL\" --dry-run; }"
        eval "slow_xz_${mbit}_pre() { aside \"\$WORK/kc-slow\"; }"
        eval "slow_xz_${mbit}() { k_deb \"\$WORK/deb-slow-xz-$mbit.toml\" \"\$WORK/kc-slow\" \"\$DEB_REL\" --dry-run; }"
        row "cold locate from Packages.gz only, $mbit Mbit/s link" "slow_gz_$mbit" \
            "the same from Packages.xz only" "slow_xz_$mbit" -
    done
fi
if want dnf; then
    row "80k-package primary.xml.zst, cold locate" dnf_cold \
        "zstd -dc primary.xml.zst" zstd_floor 1.3 \
        "dnf repoquery (cold)" repoquery 0.05
    row "dnf: the same identity again, warm (repomd unchanged)" dnf_warm_same "kheaders identity" dnf_identity 2
    row "dnf: another kernel of the unchanged repo, warm" dnf_warm_other "kheaders identity" dnf_identity 3
    # A throttled link (Mbit/s per connection): the primary is scanned as it downloads, so
    # a cold locate costs little more than fetching repomd.xml and the primary with curl.
    for mbit in ${SLOW_MBITS:-100}; do
        port=$(serve "$WORK/repo80k" --rate $((mbit * 125000)))
        dnf_config "$WORK/dnf-slow-$mbit.toml" "$port"
        eval "dnf_slow_${mbit}_pre() { aside \"\$WORK/kc-dnf-slow\"; }"
        eval "dnf_slow_${mbit}() { k_dnf \"\$WORK/dnf-slow-$mbit.toml\" \"\$WORK/kc-dnf-slow\" \"\$DNF_REL\" --dry-run; }"
        eval "curl_slow_${mbit}() { curl -fsS -o /dev/null http://127.0.0.1:$port/repodata/repomd.xml -o /dev/null \"http://127.0.0.1:$port/repodata/\$(basename \"\$DNF_ZST\")\"; }"
        row "80k-package primary.xml.zst, cold locate, $mbit Mbit/s link" "dnf_slow_$mbit" \
            "curl of repomd.xml + the primary (the download alone)" "curl_slow_$mbit" -
    done
fi
if want rss; then
    make_repo 320000 "$WORK/repo320k"
    BIG_PORT=$(serve "$WORK/repo320k")
    dnf_config "$WORK/big.toml" "$BIG_PORT"
    rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
    r80=$(rss "$KHEADERS" resolve "$DNF_REL" --distro fedora --distro-version 40 --config "$WORK/dnf.toml" --no-default-sources --cache-dir "$WORK/kc-rss1" --dry-run)
    r320=$(rss "$KHEADERS" resolve "$DNF_REL" --distro fedora --distro-version 40 --config "$WORK/big.toml" --no-default-sources --cache-dir "$WORK/kc-rss2" --dry-run)
    rdeb=$(rss "$KHEADERS" resolve "$DEB_REL" --distro debian --distro-version 12 --config "$WORK/deb.toml" --no-default-sources --cache-dir "$WORK/kc-rss3" --dry-run)
    for x in "80k-package primary, cold locate:$r80" "320k-package primary (4x), cold locate:$r320" "real bookworm Packages, cold locate:$rdeb"; do
        kb=${x##*:}
        verdict=$(awk -v k="$kb" 'BEGIN{ if (k < 65536) print "met"; else print "missed" }')
        printf '| peak RSS, %s | %.1f MB | | | < 64 MB | %s |\n' "${x%:*}" "$(awk -v k="$kb" 'BEGIN{print k/1024}')" "$verdict" | tee -a "$TABLE"
    done
fi
if want debx; then
    setup_debx
    row "fetch + unpack the Debian closure (${#DEB_FILES[@]} debs)" debx \
        "apt-get download + dpkg-deb -x" apt_dl_x 1.0 \
        "dpkg-deb -x alone" dpkg_x 1.3 \
        "the same, unpacking after every download" debx_after -
    # Throttled links (Mbit/s per connection): each package is unpacked as soon as it is
    # verified, while the rest still downloads, against unpacking once all are downloaded.
    for mbit in ${SLOW_MBITS:-100 20}; do
        deb_config "$WORK/debx-slow-$mbit.toml" "$(serve "$MIRROR" --rate $((mbit * 125000)))"
        eval "slowx_${mbit}_pre() { debx_pre; }"
        eval "slowx_${mbit}() { k_deb \"\$WORK/debx-slow-$mbit.toml\" \"\$WORK/kc-deb\" \"\$DEB_REL\" --unpack \"\$WORK/tree-k\"; }"
        eval "slowx_after_${mbit}_pre() { debx_pre; }"
        eval "slowx_after_${mbit}() { debx_after \"\$WORK/debx-slow-$mbit.toml\"; }"
        "slowx_${mbit}_pre"; "slowx_$mbit" >/dev/null # this mirror's InRelease into the cache, untimed
        row "fetch + unpack the Debian closure, $mbit Mbit/s link" "slowx_$mbit" \
            "the same, unpacking after every download" "slowx_after_$mbit" -
    done
fi
if want rpm; then
    setup_rpm
    row "fetch + unpack a 20k-file kernel-devel RPM" rpmx "rpm2cpio \\| cpio -idm" rpm2cpio_x 1.3
fi

echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB;" \
    "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); RUNS=$RUNS; $(date -u +%Y-%m-%d)"
echo "Command: RUNS=$RUNS ROWS=\"$ROWS\" scripts/bench-compare.sh"
echo
cat "$TABLE"
