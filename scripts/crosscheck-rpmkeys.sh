#!/usr/bin/env bash
# Cross-checks kheaders' RPM signature verdicts against rpm's own `rpmkeys --checksig` on
# packages signed right here with fresh keys (fixtures/rpm/make-signed.sh into a temporary
# directory): good packages (zstd, gzip, xz, bzip2 payloads; v4 header signatures; a v3
# header+payload signature), an unsigned one, one signed by a foreign key, one with its payload
# and one with its header changed after signing.
#
# rpmkeys is run as dnf runs it with gpgcheck=1: an rpm database holding only the trusted key,
# and `%_pkgverify_level signature` (a signature is required; digests alone are not enough).
# kheaders runs its verifier (`examples/rpm_checksig.rs`, the function the fetcher calls) with
# `verify_package_signatures = true` and the same key. Every verdict must be the same, and
# must be the expected one (so two tools broken the same way fail too).
#
# Needs: rpm (rpmkeys, rpmsign), gpg, python3, cargo. About 10 s once built.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

bash fixtures/rpm/make-signed.sh "$WORK/pkgs" >/dev/null 2>&1
DB="$WORK/rpmdb"
mkdir -p "$DB"
rpmkeys --dbpath "$DB" --import "$WORK/pkgs/keys/signer.asc"
cargo build --quiet --example rpm_checksig
CHECK="target/debug/examples/rpm_checksig"

# package -> expected verdict
declare -A EXPECT=(
    [good-1.rpm]=OK [good-2.rpm]=OK [good-3.rpm]=OK [good-4.rpm]=OK [good-v3.rpm]=OK
    [unsigned.rpm]="NOT OK" [foreign.rpm]="NOT OK"
    [tampered-payload.rpm]="NOT OK" [tampered-header.rpm]="NOT OK"
)
fail=0
printf '%-22s %-8s %-8s %s\n' package rpmkeys kheaders "kheaders says"
for pkg in $(printf '%s\n' "${!EXPECT[@]}" | sort); do
    f="$WORK/pkgs/$pkg"
    if rpmkeys --dbpath "$DB" --define '_pkgverify_level signature' --checksig "$f" >/dev/null 2>&1; then
        rk=OK
    else
        rk="NOT OK"
    fi
    line=$("$CHECK" "$WORK/pkgs/keys/signer.asc" "$f" || true)
    kh=$(sed -E 's/^[^:]*: (OK|NOT OK).*/\1/' <<<"$line")
    why=$(sed -E 's/^[^(]*\((.*)\)$/\1/' <<<"$line" | sed "s|$WORK/pkgs/||g")
    printf '%-22s %-8s %-8s %s\n' "$pkg" "$rk" "$kh" "${why:0:110}"
    if [ "$rk" != "$kh" ] || [ "$kh" != "${EXPECT[$pkg]}" ]; then
        echo "MISMATCH on $pkg: rpmkeys=$rk kheaders=$kh expected=${EXPECT[$pkg]}" >&2
        fail=1
    fi
done
if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "crosscheck-rpmkeys: ${#EXPECT[@]} packages, rpmkeys and kheaders agree on every verdict"
