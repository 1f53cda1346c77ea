#!/usr/bin/env bash
# Fails when a shell script that sets `pipefail` pipes into a reader that may exit before
# its writer is done (`head`, `grep -q`, `grep -m`, `sed Nq`): the writer then dies of
# SIGPIPE, the pipeline's status becomes 141, and `set -e` ends the script — or an `if`
# takes the wrong branch. Whether it happens depends on pipe buffer sizes and scheduling,
# so it passes on one machine and fails on another (the CI run of 2026-12-01 died in
# fuzz/make-seeds.sh this way). Use a reader that drains its input instead:
#   awk 'NR <= 50'   for head -50        grep PAT >/dev/null   for grep -q PAT
#   find ... -print -quit   for find ... | head -1
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
    grep -q 'pipefail' "$f" || continue
    # Comments are left out; a match inside a quoted string is still reported (rare).
    if hits=$(grep -nE '\|[[:space:]]*(head([[:space:]]|$)|grep[[:space:]]+(-[a-zA-Z]*[qm]|--quiet|--max-count)|sed[[:space:]]+-?n?[[:space:]]*[0-9]+q)' "$f" |
        grep -vE '^[0-9]+:[[:space:]]*#'); then
        printf '%s\n' "$hits" | sed "s|^|$f:|"
        bad=1
    fi
done < <(git ls-files '*.sh' .ci/run)
if [ "$bad" -ne 0 ]; then
    echo "check-pipes: early-exit readers in pipefail scripts (see the comment in scripts/check-pipes.sh)" >&2
    exit 1
fi
echo "check-pipes: ok"
