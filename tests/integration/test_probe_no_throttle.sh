#!/usr/bin/env bash
# `porthop probe` on a path that throttles nothing (netns/lab --age 0
# --bytes 0): it reports no throttling and recommends no change.
set -euo pipefail
. "$(dirname "$0")/lib/probe.sh"

PROBE_DURATION=15s
probe_lab_up 0 0
run_probe none
[[ $PROBE_RC -eq 0 ]] || fail "probe exited $PROBE_RC"
[[ $(pj none .answered) == true ]] || fail "the server relay did not answer the probe"
[[ $(pj none .throttled) == false ]] || fail "throttling reported on a path without any: $(pj none -c .onset)"
[[ $(pj none .recommended) == null ]] || fail "a change recommended without throttling: $(pj none -c .recommended)"
# The probe measured something real: the long flow got most of its 8 Mbit/s.
awk -v r="$(pj none .long_rate)" 'BEGIN { exit !(r >= 500000) }' || fail "long flow at only $(pj none .long_rate) B/s"
ok "no throttling seen; long flow $(pj none .long_rate) B/s, fresh flows $(pj none .fresh_rate) B/s"
