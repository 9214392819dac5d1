#!/usr/bin/env bash
# Issue 9, no false hops: a session that goes idle (its last datagram was
# answered) does not hop on stall while idle, nor when it resumes, with
# --hop-on-stall 500ms --hop-on-slowdown on. (Measuring "no reply for the
# stall time" from the last reply alone would hop at the first datagram
# after the pause.)
set -euo pipefail
# shellcheck disable=SC2034  # read by lib/adaptive.sh
. "$(dirname "$0")/lib/adaptive.sh"
echo_lab_up

lan_exchange 40000 200 1
[[ "$(cmetric porthop_sessions)" == 1 ]] || fail "expected 1 session after the exchange, /metrics says $(cmetric porthop_sessions)"
# A deliberate duration, not a synchronisation: ten times the stall time of
# silence in both directions.
sleep 5
[[ "$(cmetric porthop_sessions)" == 1 ]] || fail "the idle session was closed (idle timeout is 60 s)"
[[ "$(hops stall)" == 0 && "$(hops slowdown)" == 0 ]] || fail "the idle session hopped: $(hops_line)"
ok "5 s idle: no adaptive hop ($(hops_line))"

lan_exchange 40000 50 1
[[ "$(cmetric porthop_sessions)" == 1 ]] || fail "the resumed exchange opened another session"
[[ "$(hops stall)" == 0 && "$(hops slowdown)" == 0 ]] || fail "the session hopped when it resumed after idling: $(hops_line)"
ok "resumed after idling: no adaptive hop ($(hops_line))"
