#!/usr/bin/env bash
# Every libFuzzer target (tests/fuzz/) replays its kept crash inputs
# (tests/fuzz/regressions/) and then fuzzes for 5 s from the committed seed
# corpus: no crash, no leak, no sanitizer report, no broken invariant.
# Builds the fuzzers into build-fuzz/ first when needed (clang++ and
# libclang-rt-14-dev). The longer run is `make fuzz`.
. "$(dirname "$0")/lib/base.sh"
harness_init

command -v clang++ >/dev/null || command -v clang++-14 >/dev/null ||
    fail "clang++ missing (apt-get install clang libclang-rt-14-dev)"

# A fresh corpus directory: the run starts from the committed seeds only.
FUZZ_SECONDS="${FUZZ_SMOKE_SECONDS:-5}" FUZZ_CORPUS_DIR="$WORKDIR/corpus" FUZZ_JOBS="${FUZZ_JOBS:-2}" \
    bash "$PORTHOP_SRC/tests/fuzz/run.sh" 2>&1 | sed "s/^/[$TEST_NAME] /" ||
    fail "a fuzz target failed (crash inputs in $PORTHOP_SRC/build-fuzz/artifacts/)"
