#!/usr/bin/env bash
# Every libFuzzer target (tests/fuzz/) replays its kept crash inputs
# (tests/fuzz/regressions/) and then fuzzes for 10 s from the committed seed
# corpus: no crash, no leak, no sanitizer report, no broken invariant.
# Builds the fuzzers into build-fuzz/ first when needed (clang++ and
# libclang-rt-14-dev). The longer run is `make fuzz`.
set -euo pipefail

NAME=test_fuzz_smoke
PORTHOP_SRC="${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
log() { printf '[%s] %s\n' "$NAME" "$*"; }

command -v clang++ >/dev/null || command -v clang++-14 >/dev/null ||
    { log "FAIL: clang++ missing (apt-get install clang libclang-rt-14-dev)"; exit 1; }

WORK="$(mktemp -d /tmp/porthop-it-$NAME.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

t0=$(date +%s)
# A fresh corpus directory: the run starts from the committed seeds only.
if FUZZ_SECONDS="${FUZZ_SMOKE_SECONDS:-10}" FUZZ_CORPUS_DIR="$WORK/corpus" FUZZ_JOBS="${FUZZ_JOBS:-2}" \
    bash "$PORTHOP_SRC/tests/fuzz/run.sh" 2>&1 | sed "s/^/[$NAME] /"; then
    log "PASS in $(( $(date +%s) - t0 ))s"
else
    log "FAIL: a fuzz target failed (crash inputs in $PORTHOP_SRC/build-fuzz/artifacts/)"
    exit 1
fi
