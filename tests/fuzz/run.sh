#!/usr/bin/env bash
# Runs one fuzz harness (called by fuzz.mk; see tests/fuzz/README.md).
#   run.sh fuzz    BUILD NAME SECONDS   fuzz for SECONDS, growing BUILD/fuzz/corpus/NAME
#   run.sh regress BUILD NAME           run each committed regression input once
# Exit status 1 on a crash or broken invariant, after printing how to reproduce it.
set -uo pipefail

mode=$1 build=$2 name=$3
dir=tests/fuzz/$name
bin=$build/bin/fuzz_$name
log_dir=$build/logs
mkdir -p "$log_dir"

# Leaks are not what these harnesses look for, and LSan needs ptrace rights
# some containers lack; everything else aborts on the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Per-harness libFuzzer options (one per line), e.g. a shorter -max_len for
# harnesses whose every step checks the whole state.
opts=(-max_len=4096)
[ -f "$dir/options" ] && mapfile -t opts < <(grep -v '^#' "$dir/options")
[ -f "$dir/$name.dict" ] && opts+=(-dict="$dir/$name.dict")

if [ "$mode" = regress ]; then
    shopt -s nullglob
    inputs=("$dir"/regressions/* "$dir"/seeds/*)
    [ ${#inputs[@]} -eq 0 ] && exit 0
    log=$log_dir/$name.regress.log
    echo "  REGRESS $name (${#inputs[@]} inputs)"
    if ! "$bin" -runs=1 "${inputs[@]}" >"$log" 2>&1; then
        tail -n 40 "$log"
        failed=$(grep -o 'Running: .*' "$log" | tail -n 1 | cut -d' ' -f2)
        echo "fuzz-regress: $name failed on ${failed:-an input}; reproduce with:"
        echo "  $bin ${failed:-$dir/regressions/...}"
        exit 1
    fi
    exit 0
fi

seconds=$4
corpus=$build/corpus/$name
artifacts=$build/artifacts/$name/
mkdir -p "$corpus" "$artifacts"
log=$log_dir/$name.log
echo "  FUZZ    $name for ${seconds}s (corpus $corpus, log $log)"
"$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" "${opts[@]}" "$corpus" "$dir/seeds" \
    >"$log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -n 60 "$log"
    repro=$(grep -o 'Test unit written to .*' "$log" | tail -n 1 | cut -d' ' -f5)
    echo "fuzz: $name FAILED (exit $rc); reproducer: ${repro:-none written}"
    [ -n "$repro" ] && echo "  reproduce with: $bin $repro"
    exit 1
fi
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 | sed "s/^/  $name: /"
grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$log" | sed "s/^/  $name: /"
exit 0
