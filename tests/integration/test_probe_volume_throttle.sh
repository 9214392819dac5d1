#!/usr/bin/env bash
# `porthop probe` against an ISP that throttles UDP flows past 3 MB
# (netns/lab --age 0 --bytes 3M): it reports a volume throttle with an onset
# within 25% of 3 MB, and the --hop-bytes it recommends, given to a client
# relay, makes a QUIC download at least 5x as fast as the direct one.
set -euo pipefail
. "$(dirname "$0")/lib/probe.sh"

probe_lab_up 0 3M
run_probe volume
expect_throttle volume volume bytes 3000000 hop_bytes

quic_direct 20
DIRECT=$QUIC_MBPS
# A long --hop-interval: only the recommended --hop-bytes makes it hop.
HOP_INTERVAL=10m quic_relayed 40 --hop-bytes "$REC"
expect_speedup "$DIRECT" "--hop-bytes $REC"
