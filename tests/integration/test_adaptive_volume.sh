#!/usr/bin/env bash
# Issue 9, ISP variant "throttle by volume": every UDP flow past 4 MB (both
# directions) drops to 500 kbit/s (porthop is not told). A 20 MiB QUIC
# download:
#   direct (cut at 10 s)                    throttled after 4 MB
#   porthop --hop-interval 60s (cut at 8 s) one flow, throttled the same way
#   porthop --hop-interval 60s --hop-on-stall 500ms --hop-on-slowdown
#                                           complete, one QUIC connection,
#                                           >= 5x the direct rate, hops counted
#                                           with reason "slowdown"
set -euo pipefail
# shellcheck disable=SC2034  # read by lib/adaptive.sh
ISP_BYTES=4M
. "$(dirname "$0")/lib/adaptive.sh"
compare_variant slowdown 10 8 "flows past 4 MB -> 500kbit"
