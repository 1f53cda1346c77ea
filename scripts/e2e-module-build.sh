#!/usr/bin/env bash
# End-to-end proof that kheaders hands back a tree a kernel module builds against.
#
#   scripts/e2e-module-build.sh [--library-only] [--data-only]
#
# 1. Data: real Debian bookworm kernel header packages (`apt-get download`) and the real
#    signed index files (`/usr/lib/apt/apt-helper download-file`: InRelease +
#    main/binary-amd64/Packages.xz of bookworm, bookworm-updates, bookworm-backports and
#    bookworm-security: every suite the default Debian chain reads),
#    laid out as a mirror tree (`debian/dists/...`, `debian/pool/...`,
#    `debian-security/dists/...`, `debian-security/pool/...`) under
#    ${KHEADERS_E2E_CACHE:-$HOME/.cache/kheaders-e2e}/mirror and served with
#    `python3 -m http.server` on loopback. A complete mirror (marker file) is reused offline.
# 2. Library step (always): `cargo run --example unpack` unpacks those .debs with the
#    library's own unpacker, then a hello-world module is built with
#    `make -C <build_dir> M=$PWD modules` and its vermagic must name the release.
# 3. Resolve step (unless --library-only): `kheaders resolve <abi>-amd64 --distro debian
#    --distro-version 12 --arch x86_64 --mirror ... --unpack DIR --json`, then the same build
#    (examples/resolve.rs with the same arguments while the CLI lacks `--unpack`).
# 4. The RPM way: `rpmbuild` an RPM whose payload is a self-contained
#    /usr/src/kernels/<release>/ tree assembled from the relocated Debian tree (symlinks
#    dereferenced), `createrepo_c` a repo, serve it; library step unpacks the RPM and builds;
#    resolve step (unless --library-only) resolves it through a `dnf` source and builds.
# 5. Photon OS (resolve step): the same tree as Photon's linux-devel in a
#    packages.vmware.com-shaped repository, resolved through the embedded Photon catalog
#    chain with `--mirror` only, unpacked, and a module built.
# 6. Flatcar (library step): a developer-container-shaped disk image (GPT + ext4 +
#    bzip2) holding the Debian trees as Flatcar lays them out, unpacked by the library and a
#    module built; timed side by side with `debugfs rdump`.
#
# Identity of the RPM: the CLI validates a Fedora identity (`<V>-<R>.fc40.x86_64`, distro
# fedora 40), so the RPM is *named* kernel-devel-<V>-<R>.fc40.x86_64 and its tree lives at
# /usr/src/kernels/<V>-<R>.fc40.x86_64/, while the *content* is the Debian kernel's build
# tree. kheaders refuses a tree whose own release (include/generated/utsrelease.h) is not
# the identity's, so the staged tree's UTS_RELEASE (and include/config/kernel.release) is
# set to the RPM's release; the module's vermagic then names that release, and that is what
# we check. The RPM is signed with rpmsign by a key made here (kheaders requires a signature
# by default), which the CLI step trusts through `keyrings`.
#
# Needs: network on the first run only (the mirror is cached), apt-get/apt-helper/dpkg,
# python3, rpmbuild + createrepo_c (apt-get install rpm createrepo-c), gcc + make + the
# kernel build deps (apt-get install gcc make bc flex bison libelf-dev), e2fsprogs + gdisk +
# bzip2 (the Flatcar image), cargo.
# Env: KHEADERS_E2E_CACHE (mirror cache), KHEADERS_E2E_KEEP=1 (keep the work dir),
# KHEADERS_E2E_NO_APT_UPDATE=1, KHEADERS_E2E_REQUIRE_CLI=1 (see the resolve step below).
set -euo pipefail

LIBRARY_ONLY=0
DATA_ONLY=0
for a in "$@"; do
    case "$a" in
        --library-only) LIBRARY_ONLY=1 ;;
        --data-only) DATA_ONLY=1 ;;
        *) echo "usage: $0 [--library-only] [--data-only]" >&2; exit 2 ;;
    esac
done

HERE="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${KHEADERS_E2E_CACHE:-$HOME/.cache/kheaders-e2e}"
MIRROR="$CACHE/mirror"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kheaders-e2e.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    if [ "${KHEADERS_E2E_KEEP:-0}" = 1 ]; then
        echo "e2e: work dir kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

log() { echo "e2e: $*" >&2; }
die() { echo "e2e: FAIL: $*" >&2; exit 1; }

DEBIAN_URL="https://deb.debian.org/debian"
SECURITY_URL="https://deb.debian.org/debian-security"
CODENAME=bookworm
# (base name under the mirror root, upstream base URL, suite)
SUITES=(
    "debian $DEBIAN_URL $CODENAME"
    "debian $DEBIAN_URL $CODENAME-updates"
    "debian $DEBIAN_URL $CODENAME-backports"
    "debian-security $SECURITY_URL $CODENAME-security"
)

# --------------------------------------------------------------------------- data

# Prints "Package Version Filename SHA256 base" for the packages named in $@ found in the
# mirror's Packages.xz files (highest version wins; dpkg decides the order).
find_in_indexes() {
    python3 - "$MIRROR" "$@" <<'PY'
import lzma, subprocess, sys, os
mirror, wanted = sys.argv[1], set(sys.argv[2:])
best = {}
for base in ("debian", "debian-security"):
    dists = os.path.join(mirror, base, "dists")
    if not os.path.isdir(dists):
        continue
    for suite in sorted(os.listdir(dists)):
        p = os.path.join(dists, suite, "main", "binary-amd64", "Packages.xz")
        # backports carries newer kernel lines (6.12 for bookworm) that the local apt
        # sources cannot download: the distribution's own kernel is the one wanted.
        if not os.path.exists(p) or suite.endswith("-backports"):
            continue
        text = lzma.open(p, "rt", encoding="utf-8").read()
        for para in text.split("\n\n"):
            f = {}
            for line in para.splitlines():
                if line and not line[0].isspace() and ":" in line:
                    k, v = line.split(":", 1)
                    f[k] = v.strip()
            name = f.get("Package")
            if name not in wanted:
                continue
            cur = best.get(name)
            if cur is not None:
                r = subprocess.run(["dpkg", "--compare-versions", f["Version"], "gt", cur["Version"]])
                if r.returncode != 0:
                    continue
            f["base"] = base
            best[name] = f
for name in sorted(best):
    f = best[name]
    print(name, f["Version"], f["Filename"], f["SHA256"], f["base"])
PY
}

fetch_mirror() {
    # The marker lists the suites the mirror was made with: a changed list refetches.
    if [ -f "$MIRROR/.complete" ] && [ "$(cat "$MIRROR/.complete")" = "${SUITES[*]}" ]; then
        log "reusing cached mirror $MIRROR"
        return
    fi
    rm -rf "$MIRROR.partial"
    mkdir -p "$MIRROR.partial"
    local save_mirror="$MIRROR"
    MIRROR="$MIRROR.partial"
    # The local apt lists decide what `apt-get download` fetches: refresh them so they agree
    # with the index files fetched below (both from the live archive, minutes apart).
    if [ "$(id -u)" = 0 ] && [ "${KHEADERS_E2E_NO_APT_UPDATE:-0}" != 1 ]; then
        log "apt-get update"
        apt-get update -qq >&2 || log "apt-get update failed; using the existing lists"
    fi
    local entry base url suite
    for entry in "${SUITES[@]}"; do
        read -r base url suite <<<"$entry"
        local d="$MIRROR/$base/dists/$suite"
        mkdir -p "$d/main/binary-amd64"
        log "download $url/dists/$suite/InRelease"
        /usr/lib/apt/apt-helper download-file "$url/dists/$suite/InRelease" "$d/InRelease" >&2
        /usr/lib/apt/apt-helper download-file "$url/dists/$suite/main/binary-amd64/Packages.xz" \
            "$d/main/binary-amd64/Packages.xz" >&2
    done
    # The ABI the archive currently has: linux-headers-amd64 depends on linux-headers-<abi>-amd64.
    local meta_dep
    meta_dep="$(python3 - "$MIRROR" <<'PY'
import lzma, subprocess, sys, os, re
mirror = sys.argv[1]
best = None
for base in ("debian", "debian-security"):
    dists = os.path.join(mirror, base, "dists")
    for suite in sorted(os.listdir(dists)):
        p = os.path.join(dists, suite, "main", "binary-amd64", "Packages.xz")
        # backports carries newer kernel lines (6.12 for bookworm) that the local apt
        # sources cannot download: the distribution's own kernel is the one wanted.
        if not os.path.exists(p) or suite.endswith("-backports"):
            continue
        for para in lzma.open(p, "rt", encoding="utf-8").read().split("\n\n"):
            if "\nPackage: linux-headers-amd64\n" not in "\n" + para + "\n":
                continue
            v = re.search(r"^Version: (.*)$", para, re.M).group(1)
            d = re.search(r"^Depends: (linux-headers-\S+-amd64)", para, re.M).group(1)
            if best is None or subprocess.run(["dpkg", "--compare-versions", v, "gt", best[0]]).returncode == 0:
                best = (v, d)
print(best[1])
PY
)"
    local abi="${meta_dep#linux-headers-}"
    abi="${abi%-amd64}"
    log "archive ABI: $abi ($meta_dep)"
    local names=("linux-headers-$abi-amd64" "linux-headers-$abi-common" "linux-kbuild-6.1")
    local dl="$CACHE/download"
    rm -rf "$dl"
    mkdir -p "$dl"
    local name ver filename sha
    while read -r name ver filename sha base; do
        log "apt-get download $name=$ver"
        (cd "$dl" && apt-get download -q "$name=$ver" >&2)
        local f
        f="$(ls "$dl/${name}_"*.deb)"
        echo "$sha  $f" | sha256sum -c --quiet - || die "$f does not match the sha256 in the index"
        mkdir -p "$MIRROR/$base/$(dirname "$filename")"
        mv "$f" "$MIRROR/$base/$filename"
    done < <(find_in_indexes "${names[@]}")
    echo "$abi" >"$MIRROR/abi"
    MIRROR="$save_mirror"
    echo "${SUITES[*]}" >"$MIRROR.partial/.complete"
    rm -rf "$MIRROR"
    mv "$MIRROR.partial" "$MIRROR"
}

# Serves $WWW (debian/, debian-security/ -> the mirror; fedora/ -> the RPM repo made below)
# on a free loopback port, in PORT.
start_server() {
    local port_file="$WORK/port"
    rm -f "$port_file"
    python3 - "$WWW" "$port_file" <<'PY' >"$WORK/http.log" 2>&1 &
import functools, http.server, sys
root, port_file = sys.argv[1], sys.argv[2]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
    SERVER_PID=$!
    for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
    [ -s "$port_file" ] || die "http server did not start (see $WORK/http.log)"
    PORT="$(cat "$port_file")"
    log "serving $WWW on http://127.0.0.1:$PORT/"
}

# --------------------------------------------------------------------------- module build

# build_module BUILD_DIR EXPECTED_RELEASE LABEL [TREE_JSON_RELEASE]
build_module() {
    local build_dir="$1" release="$2" label="$3" reported="${4:-}"
    if [ -n "$reported" ] && [ "$reported" != "$release" ]; then
        die "[$label] the tree reports release '$reported', expected $release"
    fi
    local m="$WORK/module-$label"
    rm -rf "$m"
    mkdir -p "$m"
    cat >"$m/hello.c" <<'C'
#include <linux/init.h>
#include <linux/module.h>
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kheaders e2e hello");
static int __init hello_init(void) { pr_info("hello\n"); return 0; }
static void __exit hello_exit(void) { }
module_init(hello_init);
module_exit(hello_exit);
C
    echo 'obj-m := hello.o' >"$m/Makefile"
    log "[$label] make -C $build_dir M=$m modules"
    make -C "$build_dir" M="$m" modules >"$m/build.log" 2>&1 || {
        tail -40 "$m/build.log" >&2
        die "[$label] module build failed"
    }
    [ -f "$m/hello.ko" ] || die "[$label] no hello.ko"
    local vermagic
    if command -v modinfo >/dev/null; then
        vermagic="$(modinfo -F vermagic "$m/hello.ko")"
    else
        vermagic="$(strings "$m/hello.ko" | sed -n 's/^vermagic=//p' | awk 'NR == 1')"
    fi
    case "$vermagic" in
        "$release "*) log "[$label] OK: hello.ko vermagic: $vermagic" ;;
        *) die "[$label] vermagic '$vermagic' does not name $release" ;;
    esac
}

json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$@"; }

# --------------------------------------------------------------------------- steps

fetch_mirror
ABI="$(cat "$MIRROR/abi")"
RELEASE="$ABI-amd64"
DEBS=()
while IFS= read -r f; do DEBS+=("$f"); done < <(find "$MIRROR" -name '*.deb' | sort)
[ "${#DEBS[@]}" = 3 ] || die "expected 3 .debs in $MIRROR, found ${#DEBS[@]}"
log "release $RELEASE; packages: ${DEBS[*]##*/}"
[ "$DATA_ONLY" = 1 ] && exit 0

cd "$HERE"
cargo build -q --example unpack --example resolve --bin kheaders
EXAMPLE="$HERE/target/debug/examples/unpack"
KHEADERS="$HERE/target/debug/kheaders"
# The resolve step: the CLI (`kheaders resolve ... --unpack DIR --json`) when it has
# `--unpack`; otherwise examples/resolve.rs, which makes the same library calls
# (Resolver::resolve_headers + ResolvedHeaders::unpack) and prints the same `tree` JSON.
# KHEADERS_E2E_REQUIRE_CLI=1 makes a CLI without `--unpack` a failure.
if [ "$LIBRARY_ONLY" = 1 ]; then
    RESOLVE=()
    VIA=none
elif "$KHEADERS" resolve --help 2>/dev/null | grep -- '--unpack' >/dev/null; then
    RESOLVE=("$KHEADERS" resolve --json)
    VIA=cli
elif [ "${KHEADERS_E2E_REQUIRE_CLI:-0}" = 1 ]; then
    die "kheaders has no 'resolve --unpack' (KHEADERS_E2E_REQUIRE_CLI=1)"
else
    log "WARNING: kheaders has no 'resolve --unpack' yet: using examples/resolve.rs (same library calls)"
    RESOLVE=("$HERE/target/debug/examples/resolve")
    VIA=resolver-example
fi

# Debian, library-driven.
"$EXAMPLE" "$WORK/deb-lib" "${DEBS[@]}" >"$WORK/deb-lib.json"
build_module "$(json_field "$WORK/deb-lib.json" '["build_dir"]')" "$RELEASE" deb-library \
    "$(json_field "$WORK/deb-lib.json" '["release"]')"

WWW="$WORK/www"
mkdir -p "$WWW"
ln -s "$MIRROR/debian" "$WWW/debian"
ln -s "$MIRROR/debian-security" "$WWW/debian-security"
ln -s "$WORK/repo/fedora" "$WWW/fedora"
start_server

# Debian, resolved through the apt sources of the default chain, rewritten to loopback.
if [ "$LIBRARY_ONLY" = 0 ]; then
    "${RESOLVE[@]}" "$RELEASE" --distro debian --distro-version 12 --arch x86_64 \
        --mirror "$DEBIAN_URL=http://127.0.0.1:$PORT/debian" \
        --mirror "$SECURITY_URL=http://127.0.0.1:$PORT/debian-security" \
        --cache-dir "$WORK/cli-cache" --unpack "$WORK/deb-cli" >"$WORK/deb-cli.json"
    build_module "$(json_field "$WORK/deb-cli.json" '["tree"]["build_dir"]')" "$RELEASE" "deb-$VIA"
fi

# The RPM way. Version/release chosen Fedora-like so the identity validates; the upstream
# Debian version 6.1.192-2 becomes V=6.1.192, R=2.fc40 (the RPM Release is the Debian
# revision plus a Fedora dist tag).
DEB_VERSION="$(dpkg-deb -f "$(printf '%s\n' "${DEBS[@]}" | grep -- "-amd64_")" Version)"
RPM_V="${DEB_VERSION%%-*}"
RPM_R="${DEB_VERSION#*-}.fc40"
RPM_RELEASE="$RPM_V-$RPM_R.x86_64"
RPMTOP="$WORK/rpmbuild"
mkdir -p "$RPMTOP"/{SPECS,SOURCES,BUILD,RPMS,SRPMS}
STAGE="$WORK/rpm-stage/usr/src/kernels/$RPM_RELEASE"
mkdir -p "$STAGE"
# One self-contained directory, as a kernel-devel RPM has it: the -common tree (the kernel's
# own top Makefile, include/, arch/), overlaid with the flavour tree (.config,
# Module.symvers, include/generated, include/config), every symlink dereferenced (scripts/
# and tools/ come from linux-kbuild-6.1), and the common Makefile on top instead of
# Debian's one-line include stub. srctree == objtree then, as in a Fedora kernel-devel.
DEB_ROOT="$WORK/deb-lib"
DEB_BUILD="$(json_field "$WORK/deb-lib.json" '["build_dir"]')"
DEB_COMMON="$(readlink -f "$DEB_ROOT/lib/modules/$RELEASE/source")"
case "$DEB_COMMON" in "$DEB_ROOT"/*) ;; *) die "source link of the unpacked tree leaves the root: $DEB_COMMON" ;; esac
cp -rL "$DEB_COMMON/." "$STAGE/"
cp -rL "$DEB_BUILD/." "$STAGE/"
cp "$DEB_COMMON/Makefile" "$STAGE/Makefile"
printf '#define UTS_RELEASE "%s"\n' "$RPM_RELEASE" >"$STAGE/include/generated/utsrelease.h"
[ -f "$STAGE/include/config/kernel.release" ] && echo "$RPM_RELEASE" >"$STAGE/include/config/kernel.release"
cat >"$RPMTOP/SPECS/kernel-devel.spec" <<SPEC
Name: kernel-devel
Version: $RPM_V
Release: $RPM_R
Summary: Debian $RELEASE kernel build tree repackaged for the kheaders e2e
License: GPLv2
AutoReqProv: no
%description
Debian linux-headers-$RELEASE ($DEB_VERSION) as a self-contained /usr/src/kernels tree.
%install
mkdir -p %{buildroot}/usr/src/kernels
cp -a $STAGE %{buildroot}/usr/src/kernels/
%files
/usr/src/kernels/$RPM_RELEASE
SPEC
log "rpmbuild kernel-devel-$RPM_RELEASE"
rpmbuild -bb --quiet --define "_topdir $RPMTOP" --define "_binary_payload w3.zstdio" \
    --define "_build_id_links none" --define "__os_install_post %{nil}" \
    --define "debug_package %{nil}" "$RPMTOP/SPECS/kernel-devel.spec" >"$WORK/rpmbuild.log" 2>&1 || {
    tail -30 "$WORK/rpmbuild.log" >&2
    die "rpmbuild failed"
}
RPM_FILE="$(find "$RPMTOP/RPMS" -name '*.rpm')"
# shellcheck source=fixtures/rpm/testkeys.sh
. fixtures/rpm/testkeys.sh
SIGN_FPR=$(new_key "$WORK/gpg" "kheaders e2e package key (TEST ONLY) <e2e@kheaders.invalid>")
sign_rpm "$WORK/gpg" "$SIGN_FPR" "$RPM_FILE" || die "rpmsign failed"
gpg_in "$WORK/gpg" --armor --export "$SIGN_FPR" >"$WORK/e2e-key.asc"
REPO="$WORK/repo/fedora/40/x86_64"
mkdir -p "$REPO/Packages"
cp "$RPM_FILE" "$REPO/Packages/"
createrepo_c -q --general-compress-type=xz "$REPO" >&2

# RPM, library-driven.
"$EXAMPLE" "$WORK/rpm-lib" "$RPM_FILE" >"$WORK/rpm-lib.json"
build_module "$(json_field "$WORK/rpm-lib.json" '["build_dir"]')" "$RPM_RELEASE" rpm-library \
    "$(json_field "$WORK/rpm-lib.json" '["release"]')"

# RPM, CLI-driven through a dnf source.
if [ "$LIBRARY_ONLY" = 0 ]; then
    cat >"$WORK/kheaders.toml" <<TOML
keyrings = ["$WORK/e2e-key.asc"]
[[source]]
kind = "dnf"
name = "e2e-local"
distro = "fedora"
distro_version = "40"
base_url = "http://127.0.0.1:$PORT/fedora/40/x86_64/"
position = "first"
TOML
    "${RESOLVE[@]}" "$RPM_RELEASE" --distro fedora --distro-version 40 --arch x86_64 \
        --config "$WORK/kheaders.toml" --no-default-sources \
        --cache-dir "$WORK/cli-cache" --unpack "$WORK/rpm-cli" >"$WORK/rpm-cli.json"
    build_module "$(json_field "$WORK/rpm-cli.json" '["tree"]["build_dir"]')" "$RPM_RELEASE" "rpm-$VIA"
fi

# Photon OS, through the embedded catalog: the same relocated Debian tree packaged the way
# Photon's linux-devel is (`/usr/src/linux-headers-<uname -r>/` plus the
# `/lib/modules/<uname -r>/build` link), in a repository laid out like
# packages.vmware.com/photon/5.0/photon_updates_5.0_x86_64/ (packages under x86_64/), and
# resolved by `kheaders resolve <uname -r> --distro photon` with only `--mirror` rewriting
# https://packages.vmware.com onto loopback. As for the Fedora-named RPM above, the content
# is the Debian kernel's build tree, so vermagic names the Debian release.
PH_START=$(date +%s)
PH_V="${DEB_VERSION%%-*}"
PH_N="$(echo "${DEB_VERSION#*-}" | sed 's/[^0-9].*//')"
PH_UNAME_R="$PH_V-${PH_N:-1}.ph5"
PHTOP="$WORK/rpmbuild-photon"
mkdir -p "$PHTOP"/{SPECS,SOURCES,BUILD,RPMS,SRPMS}
PH_STAGE="$WORK/photon-stage/usr/src/linux-headers-$PH_UNAME_R"
mkdir -p "$PH_STAGE"
cp -a "$STAGE/." "$PH_STAGE/"
# The tree says which kernel it is for (kheaders holds it to the identity's release).
printf '#define UTS_RELEASE "%s"\n' "$PH_UNAME_R" >"$PH_STAGE/include/generated/utsrelease.h"
[ -f "$PH_STAGE/include/config/kernel.release" ] && echo "$PH_UNAME_R" >"$PH_STAGE/include/config/kernel.release"
cat >"$PHTOP/SPECS/linux-devel.spec" <<SPEC
Name: linux-devel
Version: $PH_V
Release: ${PH_N:-1}.ph5
Summary: Debian $RELEASE kernel build tree packaged as Photon's linux-devel for the kheaders e2e
License: GPLv2
AutoReqProv: no
%description
Debian linux-headers-$RELEASE ($DEB_VERSION) laid out as Photon OS 5.0 linux-devel $PH_UNAME_R.
%install
mkdir -p %{buildroot}/usr/src %{buildroot}/lib/modules/$PH_UNAME_R
cp -a $PH_STAGE %{buildroot}/usr/src/
ln -s /usr/src/linux-headers-$PH_UNAME_R %{buildroot}/lib/modules/$PH_UNAME_R/build
%files
/usr/src/linux-headers-$PH_UNAME_R
/lib/modules/$PH_UNAME_R/build
SPEC
log "rpmbuild linux-devel-$PH_UNAME_R.x86_64 (Photon layout)"
rpmbuild -bb --quiet --define "_topdir $PHTOP" --define "_binary_payload w3.zstdio" \
    --define "_build_id_links none" --define "__os_install_post %{nil}" \
    --define "debug_package %{nil}" "$PHTOP/SPECS/linux-devel.spec" >"$WORK/rpmbuild-photon.log" 2>&1 || {
    tail -30 "$WORK/rpmbuild-photon.log" >&2
    die "rpmbuild (photon) failed"
}
PH_RPM="$(find "$PHTOP/RPMS" -name '*.rpm')"
[ "$(basename "$PH_RPM")" = "linux-devel-$PH_UNAME_R.x86_64.rpm" ] || die "unexpected photon rpm name $PH_RPM"
PH_REPO="$WORK/repo/packages.vmware.com/photon/5.0/photon_updates_5.0_x86_64"
mkdir -p "$PH_REPO/x86_64"
cp "$PH_RPM" "$PH_REPO/x86_64/"
createrepo_c -q --general-compress-type=xz "$PH_REPO" >&2
ln -s "$WORK/repo/packages.vmware.com" "$WWW/packages.vmware.com"

if [ "$LIBRARY_ONLY" = 0 ]; then
    "${RESOLVE[@]}" "$PH_UNAME_R" --distro photon --distro-version 5.0 --arch x86_64 \
        --mirror "https://packages.vmware.com=http://127.0.0.1:$PORT/packages.vmware.com" \
        --cache-dir "$WORK/cli-cache" --unpack "$WORK/photon-cli" >"$WORK/photon-cli.json"
    [ "$(json_field "$WORK/photon-cli.json" '["source"]')" = "dnf:photon-updates" ] \
        || die "photon: resolved by $(json_field "$WORK/photon-cli.json" '["source"]'), not dnf:photon-updates"
    case "$(json_field "$WORK/photon-cli.json" '["packages"][0]["url"]')" in
        */photon/5.0/photon_updates_5.0_x86_64/x86_64/linux-devel-$PH_UNAME_R.x86_64.rpm) ;;
        *) die "photon: root package URL $(json_field "$WORK/photon-cli.json" '["packages"][0]["url"]')" ;;
    esac
    build_module "$(json_field "$WORK/photon-cli.json" '["tree"]["build_dir"]')" "$PH_UNAME_R" "photon-$VIA"
fi
log "photon step: $(( $(date +%s) - PH_START )) s"

# Flatcar Container Linux (library step): a developer container image laid out as Flatcar's
# (GPT, partition 9 `ROOT`, ext4 made by `mkfs.ext4 -d`, bzip2) whose kernel trees are the
# real Debian ones: /usr/lib/modules/<release>/build is the flavour tree (.config,
# Module.symvers, include/generated, compiled scripts) with the two-line Makefile kbuild
# writes for an O= build naming the *build machine's* source path
# (`include /build/amd64-usr/usr/src/linux-<V>-coreos/Makefile`) and a `source` link to the
# same dangling path; /usr/lib/modules/<release>/source is the common tree (the kernel's top
# Makefile, include/, arch/). kheaders unpacks the image (`examples/unpack`, format told by
# the `.bin.bz2` name), points the Makefile and link at the image's own source tree, and a
# module is built against it. The identity-level path (DIGESTS, signature, release check) is
# covered hermetically by tests/it/flatcar.rs: a Debian tree's release is not `-flatcar`.
# Also measured, side by side in this run: the same extraction with e2fsprogs' `debugfs
# rdump` after `bzip2 -dc` + `dd` of the partition (the reference pipeline).
if command -v mkfs.ext4 >/dev/null && command -v sgdisk >/dev/null && command -v bzip2 >/dev/null; then
    FC_START=$(date +%s)
    FC_ROOT="$WORK/flatcar-root"
    FC_K="$FC_ROOT/usr/lib/modules/$RELEASE"
    FC_SRC="/build/amd64-usr/usr/src/linux-${DEB_VERSION%%-*}-coreos"
    mkdir -p "$FC_K/build" "$FC_K/source" "$FC_ROOT/usr/share/flatcar" "$FC_ROOT/usr/bin"
    cp -rL "$DEB_COMMON/." "$FC_K/source/"
    cp -rL "$DEB_BUILD/." "$FC_K/build/"
    printf '# Automatically generated by %s/scripts/mkmakefile: don'"'"'t edit\ninclude %s/Makefile\n' \
        "$FC_SRC" "$FC_SRC" >"$FC_K/build/Makefile"
    rm -rf "$FC_K/build/source"
    ln -s "$FC_SRC" "$FC_K/build/source"
    echo "FLATCAR_RELEASE_VERSION=3999.0.0" >"$FC_ROOT/usr/share/flatcar/release"
    cp /bin/true "$FC_ROOT/usr/bin/not-extracted"
    FC_FILES=$(find "$FC_K" | wc -l)
    FC_IMG="$WORK/flatcar_developer_container.bin"
    truncate -s 1G "$FC_IMG"
    sgdisk --clear --new=9:4096:0 --typecode=9:8300 --change-name=9:ROOT "$FC_IMG" >/dev/null
    FC_FIRST=$(sgdisk --info=9 "$FC_IMG" | awk '/First sector/ {print $3}')
    FC_LAST=$(sgdisk --info=9 "$FC_IMG" | awk '/Last sector/ {print $3}')
    mkfs.ext4 -q -F -b 4096 -L ROOT -E "offset=$((FC_FIRST * 512))" -d "$FC_ROOT" "$FC_IMG" \
        "$(( (FC_LAST - FC_FIRST + 1) / 2 ))k"
    bzip2 -9 -c "$FC_IMG" >"$FC_IMG.bz2"
    log "flatcar: image of $FC_FILES kernel-tree entries, $(du -h "$FC_IMG.bz2" | cut -f1) compressed ($(du -h "$FC_IMG" | cut -f1) on disk, 1 GiB sparse)"
    rm -f "$FC_IMG"
    T0=$(date +%s.%N)
    "$EXAMPLE" "$WORK/flatcar-lib" "$FC_IMG.bz2" >"$WORK/flatcar-lib.json"
    T1=$(date +%s.%N)
    [ ! -e "$WORK/flatcar-lib/usr/bin" ] || die "flatcar: more than the kernel trees came out of the image"
    grep -q 'include $(dir $(lastword $(MAKEFILE_LIST)))../source/Makefile' \
        "$WORK/flatcar-lib/usr/lib/modules/$RELEASE/build/Makefile" \
        || die "flatcar: the build Makefile still names the build machine's source path"
    build_module "$(json_field "$WORK/flatcar-lib.json" '["build_dir"]')" "$RELEASE" flatcar-library \
        "$(json_field "$WORK/flatcar-lib.json" '["release"]')"
    # The reference pipeline, same image, same run.
    R0=$(date +%s.%N)
    bzip2 -dc "$FC_IMG.bz2" | dd of="$WORK/flatcar-ref.part" bs=512 skip="$FC_FIRST" conv=sparse status=none
    mkdir -p "$WORK/flatcar-ref"
    debugfs -R "rdump /usr/lib/modules/$RELEASE $WORK/flatcar-ref" "$WORK/flatcar-ref.part" >/dev/null 2>&1
    R1=$(date +%s.%N)
    rm -f "$WORK/flatcar-ref.part"
    [ -f "$WORK/flatcar-ref/$RELEASE/build/.config" ] || die "flatcar: debugfs rdump extracted nothing"
    log "flatcar: measured: kheaders unpack (bunzip2 + GPT + ext4 walk + write, checks included) $(python3 -c "print(f'{$T1-$T0:.2f}')") s; reference bzip2 -dc | dd + debugfs rdump $(python3 -c "print(f'{$R1-$R0:.2f}')") s"
    log "flatcar step: $(( $(date +%s) - FC_START )) s"
else
    die "flatcar: mkfs.ext4 (e2fsprogs), sgdisk (gdisk) and bzip2 are needed"
fi

log "all module builds passed"
