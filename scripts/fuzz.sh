#!/usr/bin/env bash
# Builds the cargo-fuzz targets (fuzz/) and runs each of them, one at a time, on a seed corpus
# made from fixtures/ (fuzz/make-seeds.sh). A crash, a hang (an input running longer than
# -timeout) or a run past -rss_limit_mb fails the script and leaves the input under
# fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh                      every target for FUZZ_SECONDS (default 10) each: CI
#   scripts/fuzz.sh --runs 10000000 T..  targets T (default: all) for that many executions
#                                        each: the long runs whose figures the README records
#   FUZZ_FORK=2 scripts/fuzz.sh --runs ...  the same on 2 cores: libFuzzer's fork mode runs
#                                        child fuzzers on one shared corpus and stops when
#                                        their executions add up to --runs
#
# Fork mode counts an out-of-memory or timed-out child instead of stopping, so the script
# reads its last status line ("oom/timeout/crash: 0/0/0") and fails unless all three are 0.
#
# Each run prints libFuzzer's last status line (executions, coverage, exec/s, peak RSS);
# a summary table follows. Long runs are meant for `nice -n 19` on a shared machine.
# Needs: the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz
# with `cargo install --locked` when missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

RUNS=""
if [ "${1:-}" = "--runs" ]; then
    RUNS=$2
    shift 2
fi
SECONDS_EACH=${FUZZ_SECONDS:-10}
FORK=${FUZZ_FORK:-}
# Bounds for one input: libFuzzer reports an input that runs longer than TIMEOUT seconds as a
# hang and a process above RSS_MB as unbounded allocation. The targets need ~30–150 MB.
TIMEOUT=10
RSS_MB=1024
MAX_LEN=65536

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked --quiet cargo-fuzz
fi

t0=$(date +%s)
# No sanitizer: the targets run safe Rust over C decompressors; coverage-guided mutation and
# Rust's own checks (bounds, overflow with debug assertions) are what finds bugs here, at
# twice the speed of an ASan build.
cargo +nightly fuzz build --sanitizer none --debug-assertions
echo "fuzz: targets built in $(($(date +%s) - t0)) s"
bash make-seeds.sh

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
BIN=target/x86_64-unknown-linux-gnu/release
summary=()
for t in "${targets[@]}"; do
    mkdir -p "artifacts/$t" "corpus/$t"
    limit=(-max_total_time="$SECONDS_EACH")
    [ -n "$RUNS" ] && limit=(-runs="$RUNS")
    wrap=()
    if [ -n "$FORK" ]; then
        limit+=(-fork="$FORK")
        # GNU time's %M is the largest resident set among the children it waited for.
        [ -x /usr/bin/time ] && wrap=(/usr/bin/time -f %M -o "artifacts/$t/max-rss-kb")
    fi
    log="artifacts/$t/last-run.log"
    started=$(date +%s)
    if ! "${wrap[@]}" "$BIN/$t" "corpus/$t" "${limit[@]}" -max_len=$MAX_LEN -timeout=$TIMEOUT \
        -rss_limit_mb=$RSS_MB -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    secs=$(($(date +%s) - started))
    line=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    if [ -n "$FORK" ]; then
        # The parent prints no final stats: the count is its last "#N" line.
        execs=$(awk '{sub(/^#/, "", $1); sub(/:$/, "", $1); print $1}' <<<"$line")
        rss="?"
        [ -s "artifacts/$t/max-rss-kb" ] && rss=$(($(tail -n 1 "artifacts/$t/max-rss-kb") / 1024))
        failures=$(awk '{for (i = 1; i < NF; i++) if ($i == "oom/timeout/crash:") print $(i + 1)}' <<<"$line")
        if [ "$failures" != "0/0/0" ]; then
            tail -n 40 "$log" >&2
            echo "fuzz: $t: oom/timeout/crash $failures (inputs in fuzz/artifacts/$t/)" >&2
            exit 1
        fi
    else
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
        rss=$(awk '/stat::peak_rss_mb/ {print $2}' "$log")
    fi
    echo "fuzz: $t: $execs executions in $secs s, peak RSS $rss MB | $line"
    summary+=("$(printf '%-12s %12s %6s s %7s MB' "$t" "$execs" "$secs" "$rss")")
done
printf '%s\n' "target        executions   time    peak RSS" "${summary[@]}"
echo "fuzz: ${#targets[@]} targets, no crash, hang or memory blow-up ($(($(date +%s) - t0)) s in all)"
