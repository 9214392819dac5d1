#!/usr/bin/env bash
# `porthop probe` against an ISP that throttles UDP flows older than 4 s
# (netns/lab --age 4 --bytes 0): it reports an age throttle with an onset
# within 25% of 4 s, and the --hop-interval it recommends, given to a client
# relay, makes a QUIC download at least 5x as fast as the direct one.
set -euo pipefail
NAME=test_probe_age_throttle
# shellcheck source=tests/integration/probe_lib.sh
. "$(dirname "$0")/probe_lib.sh"
T=4

probe_lab_up "$T" 0
run_probe age
[[ $PROBE_RC -eq 0 ]] || fail "probe exited $PROBE_RC"
[[ $(pj age .throttled) == true ]] || fail "no throttling detected"
[[ $(pj age .kind) == age ]] || fail "throttle classified as $(pj age .kind), not age"
ONSET=$(pj age .onset.age_s)
within "$ONSET" "$T" 25 || fail "onset at ${ONSET}s, not within 25% of ${T}s"
HOP=$(pj age .recommended.hop_interval)
[[ $HOP != null ]] || fail "no --hop-interval recommended"
ok "age throttle found, onset ${ONSET}s (true ${T}s), recommended --hop-interval $HOP"

# The direct download runs long enough that its first 4 s at full rate do
# not dominate its average.
quic_direct 48
DIRECT=$QUIC_MBPS
HOP_INTERVAL=$HOP quic_relayed 40
assert_download_ok
awk -v p="$QUIC_MBPS" -v d="$DIRECT" 'BEGIN { exit !(p >= 5 * d) }' ||
    fail "with --hop-interval $HOP: $QUIC_MBPS Mbit/s is not >= 5x the direct $DIRECT Mbit/s"
ok "with --hop-interval $HOP: $QUIC_MBPS Mbit/s vs direct $DIRECT Mbit/s"
