#!/usr/bin/env bash
# `porthop probe` against an ISP that throttles UDP flows past 3 MB
# (netns/lab --age 0 --bytes 3M): it reports a volume throttle with an onset
# within 25% of 3 MB, and the --hop-bytes it recommends, given to a client
# relay, makes a QUIC download at least 5x as fast as the direct one.
set -euo pipefail
NAME=test_probe_volume_throttle
# shellcheck source=tests/integration/probe_lib.sh
. "$(dirname "$0")/probe_lib.sh"
B=3000000

probe_lab_up 0 3M
run_probe volume
[[ $PROBE_RC -eq 0 ]] || fail "probe exited $PROBE_RC"
[[ $(pj volume .throttled) == true ]] || fail "no throttling detected"
[[ $(pj volume .kind) == volume ]] || fail "throttle classified as $(pj volume .kind), not volume"
ONSET=$(pj volume .onset.bytes)
within "$ONSET" "$B" 25 || fail "onset at $ONSET bytes, not within 25% of $B"
HOP=$(pj volume .recommended.hop_bytes)
[[ $HOP != null ]] || fail "no --hop-bytes recommended"
ok "volume throttle found, onset $ONSET bytes (true $B), recommended --hop-bytes $HOP"

quic_direct 20
DIRECT=$QUIC_MBPS
# A long --hop-interval: only the recommended --hop-bytes makes it hop.
HOP_INTERVAL=10m quic_relayed 40 --hop-bytes "$HOP"
assert_download_ok
awk -v p="$QUIC_MBPS" -v d="$DIRECT" 'BEGIN { exit !(p >= 5 * d) }' ||
    fail "with --hop-bytes $HOP: $QUIC_MBPS Mbit/s is not >= 5x the direct $DIRECT Mbit/s"
ok "with --hop-bytes $HOP: $QUIC_MBPS Mbit/s vs direct $DIRECT Mbit/s"
