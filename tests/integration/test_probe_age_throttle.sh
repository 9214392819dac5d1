#!/usr/bin/env bash
# `porthop probe` against an ISP that throttles UDP flows older than 4 s
# (netns/lab --age 4 --bytes 0): it reports an age throttle with an onset
# within 25% of 4 s, and the --hop-interval it recommends, given to a client
# relay, makes a QUIC download at least 5x as fast as the direct one.
set -euo pipefail
. "$(dirname "$0")/lib/probe.sh"

probe_lab_up 4 0
run_probe age
expect_throttle age age age_s 4 hop_interval

# The direct download runs long enough that its first 4 s at full rate do
# not dominate its average.
quic_direct 48
DIRECT=$QUIC_MBPS
HOP_INTERVAL=$REC quic_relayed 40
expect_speedup "$DIRECT" "--hop-interval $REC"
