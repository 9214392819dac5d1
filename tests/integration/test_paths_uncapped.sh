#!/usr/bin/env bash
# Real QUIC through porthop on a 100 Mbit/s link without a cap: --paths 8
# is not slower than --paths 1. The body: lib/paths.sh.
. "$(dirname "$0")/lib/paths.sh"
paths_uncapped_test
