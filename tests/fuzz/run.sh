#!/usr/bin/env bash
# tests/fuzz/run.sh: build porthop's libFuzzer targets with clang (ASan +
# UBSan) into build-fuzz/ and run each for a while.
#
#   tests/fuzz/run.sh [--seconds N] [--build-only] [TARGET...]
#
# For every target (default: all fuzz_*.cpp here):
#   1. replays tests/fuzz/regressions/TARGET/* (inputs that once crashed),
#   2. fuzzes for N seconds (FUZZ_SECONDS, default 60) starting from the
#      committed seeds in tests/fuzz/corpus/TARGET/ (read only) and what
#      earlier runs found (build-fuzz/corpus/TARGET/, written),
#   3. prints one line: executions, exec/s, corpus size, result.
# A crash leaves its input in build-fuzz/artifacts/ and fails the run (status
# 1); copy it into tests/fuzz/regressions/TARGET/ once reported.
#
# Environment: FUZZ_SECONDS, FUZZ_BUILD_DIR (build-fuzz), FUZZ_JOBS (build
# parallelism, 1), FUZZ_CORPUS_DIR (where new inputs go, default
# build-fuzz/corpus), CXX (clang++).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
BUILD_ONLY=0
TARGETS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        --build-only) BUILD_ONLY=1; shift ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) TARGETS+=("$1"); shift ;;
    esac
done

CXX="${CXX:-}"
if [[ -z "$CXX" || "$CXX" != *clang* ]]; then
    CXX="$(command -v clang++ || command -v clang++-14 || true)"
fi
[[ -n "$CXX" ]] || { echo "run.sh: clang++ not found (apt-get install clang)" >&2; exit 2; }
if ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
    echo "run.sh: libFuzzer runtime missing (apt-get install libclang-rt-14-dev)" >&2
    exit 2
fi

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S "$HERE" -B "$BUILD" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j "${FUZZ_JOBS:-1}" >"$BUILD/build.log" 2>&1 || {
    tail -n 40 "$BUILD/build.log" >&2
    echo "run.sh: build failed (log: $BUILD/build.log)" >&2
    exit 1
}
[[ $BUILD_ONLY == 1 ]] && { echo "fuzzers built in $BUILD"; exit 0; }

if [[ ${#TARGETS[@]} -eq 0 ]]; then
    for f in "$HERE"/fuzz_*.cpp; do
        t="$(basename "$f" .cpp)"
        [[ "$t" == fuzz_common ]] || TARGETS+=("$t")
    done
fi

max_len_of() {
    case "$1" in
        fuzz_client_relay|fuzz_server_relay) echo 8192 ;;
        fuzz_values|fuzz_address) echo 256 ;;
        *) echo 4096 ;;
    esac
}

status=0
mkdir -p "$BUILD/artifacts"
for t in "${TARGETS[@]}"; do
    bin="$BUILD/$t"
    [[ -x "$bin" ]] || { echo "run.sh: no fuzz target $bin" >&2; status=1; continue; }
    log="$BUILD/$t.log"
    # 1. regressions
    shopt -s nullglob
    regressions=("$HERE/regressions/$t"/*)
    shopt -u nullglob
    if [[ ${#regressions[@]} -gt 0 ]]; then
        if ! "$bin" "${regressions[@]}" >"$BUILD/$t.regressions.log" 2>&1; then
            echo "$t: REGRESSION: a kept crash input fails again (log: $BUILD/$t.regressions.log)"
            grep -E 'Running: |what\(\)|ERROR: |runtime error|invariant failed|SUMMARY' "$BUILD/$t.regressions.log" | head -n 12
            status=1
            continue
        fi
    fi
    # 2. fuzz
    work_corpus="${FUZZ_CORPUS_DIR:-$BUILD/corpus}/$t"
    mkdir -p "$work_corpus"
    seeds=()
    [[ -d "$HERE/corpus/$t" ]] && seeds=("$HERE/corpus/$t")
    dict=()
    [[ -f "$HERE/dict/$t.dict" ]] && dict=("-dict=$HERE/dict/$t.dict")
    rc=0
    "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len_of "$t")" \
        -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" "${dict[@]}" \
        "$work_corpus" "${seeds[@]}" >"$log" 2>&1 || rc=$?
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')
    corpus=$(find "$work_corpus" -type f | wc -l)
    if [[ $rc -eq 0 ]]; then
        printf '%-20s ok     %10s executions %7s exec/s  cov %6s  corpus %5s  (%ss)\n' \
            "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" "$SECONDS_EACH"
    else
        printf '%-20s FAILED (status %s) after %s executions; log %s\n' "$t" "$rc" "${execs:-?}" "$log"
        grep -E 'ERROR: |runtime error|invariant failed|deadly signal|Test unit written' "$log" | head -n 8
        status=1
    fi
done
exit "$status"
