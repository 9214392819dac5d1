#!/usr/bin/env bash
# Issue 17, "thresholds learned online": with the adaptive options on, the
# client relay learns at which age and volume its flows run into the ISP
# (relay/learned_thresholds.hpp) and then hops ahead of it (reason
# "learned") instead of after each throttle. 100 Mbit/s link, thresholds not
# told; for each ISP a 20 MiB QUIC download through porthop:
#
#   fixed     a hand-tuned schedule: half the ISP's threshold (a second
#             client relay, on port 4434)
#   learned   --hop-interval 60s --hop-on-stall 500ms --hop-on-slowdown: the
#             first download through it teaches it; of the next three, the
#             best must reach >= 0.8x the best fixed one, with hops of
#             reason "learned" (the adaptive hops of each are logged; the end
#             of a download adds a stall hop: nothing answers it)
#
# After the lesson the two relays take turns (fixed, learned, three times),
# and each side's rate is its best run: the lab machines are shared, and a
# slow spell of some other load lasts seconds; interleaved, it slows a run or
# two of each side, not all three of one.
#
#   age        flows older than 1 s -> 500 kbit/s     fixed: --hop-interval 500ms
#   volume     flows past 4 MB -> 500 kbit/s          fixed: --hop-bytes 2000000
#   blackhole  flows older than 1 s dropped           fixed: --hop-interval 500ms
set -euo pipefail
export LAB_LINK_RATE=100mbit
PORTSET=20000-20999
. "$(dirname "$0")/lib/lab.sh"

QUIC_MB=20
RATIO=0.8
ADAPTIVE=(--hop-on-stall 500ms --hop-on-slowdown)

adaptive_hops() { echo $(( $(hops stall) + $(hops slowdown) )); }
hops_line() { echo "interval=$(hops interval) bytes=$(hops bytes) stall=$(hops stall) slowdown=$(hops slowdown) learned=$(hops learned)"; }

FIXED_PORT=4434
FIXED_PID=""
# fixed_relay INTERVAL [ARGS...]: the hand-tuned client relay on
# $FIXED_PORT, beside the learning one (which keeps what it learned).
fixed_relay() {
    local learner_pid=$CLIENT_PID learner_log=${CLIENT_LOG:-}
    [[ -n $FIXED_PID ]] && stop_process "$FIXED_PID"
    start_client_relay "$ROUTER_LAN_IP:$FIXED_PORT" "$VPS_IP" --hop-interval "$1" --metrics 127.0.0.1:9103 "${@:2}"
    FIXED_PID=$CLIENT_PID CLIENT_PID=$learner_pid CLIENT_LOG=$learner_log
}

# variant LABEL AGE BYTES BLACKHOLE FIXED_INTERVAL [FIXED_ARGS...]
variant() {
    local label=$1 fixed=() learned=() first_adaptive before fixed_mbps learned_mbps
    LAB_AGE=$2 LAB_BYTES=$3 LAB_BLACKHOLE=$4 "$LAB" --id "$LAB_ID" rules
    fixed_relay "$5" "${@:6}"
    HOP_INTERVAL=60s lab_client_relay "${ADAPTIVE[@]}"
    lab_download "$label-learning" "$ROUTER_LAN_IP" 30
    assert_download_ok
    first_adaptive=$(adaptive_hops)
    log "$label-learning: $(hops_line)"
    for round in 1 2 3; do
        lab_download "$label-fixed$round" "$ROUTER_LAN_IP" 30 "$FIXED_PORT"
        assert_download_ok
        fixed+=("$QUIC_MBPS")
        before=$(adaptive_hops)
        lab_download "$label-learned$round" "$ROUTER_LAN_IP" 30
        assert_download_ok
        learned+=("$QUIC_MBPS")
        log "$label-learned$round: $(hops_line) (adaptive hops: $first_adaptive learning, $(( $(adaptive_hops) - before )) this run); throttled=$THROTTLED blackholed=$BLACKHOLED flows=$FLOWS"
    done
    (( $(hops learned) >= 1 )) || fail "$label: no hop ahead of a learned threshold ($(hops_line))"

    fixed_mbps=$(best "${fixed[@]}") learned_mbps=$(best "${learned[@]}")
    log "RESULT $label: learned $learned_mbps Mbit/s (runs: ${learned[*]}) vs fixed $fixed_mbps Mbit/s (runs: ${fixed[*]}): $(ratio "$learned_mbps" "$fixed_mbps")x"
    ge "$learned_mbps" "$(awk -v f="$fixed_mbps" -v r="$RATIO" 'BEGIN {print f * r}')" ||
        fail "$label: learned $learned_mbps Mbit/s is below ${RATIO}x the fixed $fixed_mbps Mbit/s"
}

lab_start
quic_prepare "$WORKDIR" "$QUIC_MB"
lab_server_relay
variant age 1s 0 0 500ms
variant volume 0 4000000 0 60s --hop-bytes 2000000
variant blackhole 0 0 1s 500ms
ok "learned thresholds: >= ${RATIO}x a hand-tuned schedule for age, volume and blackhole ISPs"
