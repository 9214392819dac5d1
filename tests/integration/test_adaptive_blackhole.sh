#!/usr/bin/env bash
# Issue 9, ISP variant "blackhole": every UDP flow is dropped entirely once it
# is 1 s old, both directions, as when an ISP blocks a port (porthop is not
# told). A 20 MiB QUIC download:
#   direct (cut at 20 s)                    stalls after its first second
#   porthop --hop-interval 60s (cut at 8 s) one flow, stalls the same way
#   porthop --hop-interval 60s --hop-on-stall 500ms --hop-on-slowdown
#                                           complete, one QUIC connection,
#                                           >= 5x the direct rate, hops counted
#                                           with reason "stall"
set -euo pipefail
# shellcheck disable=SC2034  # read by lib/adaptive.sh
ISP_BLACKHOLE=1s
. "$(dirname "$0")/lib/adaptive.sh"
compare_variant stall 20 8 "flows older than 1s are blackholed"
[[ $BLACKHOLED -ge 1 ]] || fail "adaptive: the ISP blackholed no flow (blackholed=$BLACKHOLED): the lab did not block"
