#!/usr/bin/env bash
# Issue 9, no false hops: an application-limited sender, no throttle, with
# --hop-on-stall 500ms --hop-on-slowdown: for ~32 s, cycles of 2 s at ~6
# Mbit/s, 2 s at ~0.3 Mbit/s (the application slows down: a "throttle" to the
# detector) and 2 s of silence. At most one adaptive hop in the run: the
# first slowdown may be taken for a throttle, but that hop does not make the
# stream faster, so the guard backs off to 30 s; the pauses are no slowdown
# and, every datagram being answered, no stall.
set -euo pipefail
# shellcheck disable=SC2034  # read by lib/adaptive.sh
. "$(dirname "$0")/lib/adaptive.sh"
echo_lab_up

t0=$(date +%s%N)
for cycle in 1 2 3 4 5; do
    lan_exchange 40001 2000 2   # ~1000 datagrams/s of 736 bytes on average
    lan_exchange 40001 100 2    # ~50 datagrams/s
    # A deliberate duration, not a synchronisation: the application's pause.
    sleep 2
    log "cycle $cycle done at $(( ($(date +%s%N) - t0) / 1000000 )) ms: $(hops_line)"
done
[[ "$(cmetric porthop_sessions)" == 1 ]] || fail "expected the one session of port 40001, /metrics says $(cmetric porthop_sessions)"
adaptive=$(( $(hops stall) + $(hops slowdown) ))
(( adaptive <= 1 )) || fail "$adaptive adaptive hops in $(( ($(date +%s%N) - t0) / 1000000000 )) s of an application-limited stream (want <= 1): $(hops_line)"
ok "$adaptive adaptive hop(s) in $(( ($(date +%s%N) - t0) / 1000000000 )) s ($(hops_line))"
