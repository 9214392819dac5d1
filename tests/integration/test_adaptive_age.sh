#!/usr/bin/env bash
# Issue 9, ISP variant "throttle by age": every UDP flow older than 1 s drops
# to 500 kbit/s (porthop is not told). A 20 MiB QUIC download:
#   direct (cut at 15 s)                    throttled after its first second
#   porthop --hop-interval 60s (cut at 8 s) one flow, throttled the same way
#   porthop --hop-interval 60s --hop-on-stall 500ms --hop-on-slowdown
#                                           complete, one QUIC connection,
#                                           >= 5x the direct rate, hops counted
#                                           with reason "slowdown"
# The direct run at 1 s already carries ~12 MB at 100 Mbit/s: a 3 s age would
# let a 20 MiB download finish before the throttle.
set -euo pipefail
# shellcheck disable=SC2034  # read by lib/adaptive.sh
ISP_AGE=1s
. "$(dirname "$0")/lib/adaptive.sh"
compare_variant slowdown 15 8 "flows older than 1s -> 500kbit"
