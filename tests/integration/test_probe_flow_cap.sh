#!/usr/bin/env bash
# `porthop probe` on a path whose ISP caps every UDP flow from its first byte
# (netns/lab --flow-cap 100: 100 kbytes/s a flow): it reports a per-flow cap
# and recommends --paths, not a hop schedule.
set -euo pipefail
. "$(dirname "$0")/lib/probe.sh"

PROBE_DURATION=15s
export LAB_FLOW_CAP=100
probe_lab_up 0 0
run_probe cap
[[ $PROBE_RC -eq 0 ]] || fail "probe exited $PROBE_RC"
[[ $(pj cap .answered) == true ]] || fail "the server relay did not answer the probe"
[[ $(pj cap .kind) == per_flow ]] || fail "kind $(pj cap .kind), not per_flow (long $(pj cap .long_rate) B/s, together $(pj cap .parallel_rate) B/s)"
paths=$(pj cap .recommended.paths)
if ! [[ $paths =~ ^[0-9]+$ ]] || (( paths < 2 || paths > 16 )); then
    fail "recommended --paths '$paths', not 2 to 16"
fi
[[ $(pj cap .recommended.hop_interval) == null && $(pj cap .recommended.hop_bytes) == null ]] ||
    fail "a hop schedule recommended for a per-flow cap: $(pj cap -c .recommended)"
# The long flow got about the cap (102400 B/s), far below the probe's 1 MB/s.
awk -v r="$(pj cap .long_rate)" 'BEGIN { exit !(r >= 50000 && r <= 200000) }' ||
    fail "long flow at $(pj cap .long_rate) B/s, not about the 100 kbytes/s cap"
ok "per-flow cap seen: long flow $(pj cap .long_rate) B/s, flows together $(pj cap .parallel_rate) B/s; recommended --paths $paths"
