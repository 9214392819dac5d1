#!/usr/bin/env bash
# Issue 17, "thresholds learned online": with the adaptive options on, the
# client relay learns at which age and volume its flows run into the ISP
# (relay/learned_thresholds.hpp) and then hops ahead of it (reason
# "learned") instead of after each throttle. 100 Mbit/s link, thresholds not
# told; for each ISP a 20 MiB QUIC download through porthop:
#
#   fixed     a hand-tuned schedule: half the ISP's threshold; downloaded
#             before and after the learned ones
#   learned   --hop-interval 60s --hop-on-stall 500ms --hop-on-slowdown,
#             three times through the same client relay: the first download
#             teaches it, the next two must reach >= 0.8x the fixed rate, with
#             hops of reason "learned" (the adaptive hops of each are logged;
#             the end of a download adds a stall hop: nothing answers it)
#
# Each side's rate is its better run: the lab machines are shared, and a run
# that some other load slowed down says nothing about porthop.
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

best() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# variant LABEL AGE BYTES BLACKHOLE FIXED_INTERVAL [FIXED_ARGS...]
variant() {
    local label=$1 fixed=() learned=() first_adaptive before fixed_mbps learned_mbps
    LAB_AGE=$2 LAB_BYTES=$3 LAB_BLACKHOLE=$4 "$LAB" --id "$LAB_ID" rules
    HOP_INTERVAL=$5 lab_client_relay "${@:6}"
    lab_download "$label-fixed1" "$ROUTER_LAN_IP" 30
    assert_download_ok
    fixed+=("$QUIC_MBPS")

    HOP_INTERVAL=60s lab_client_relay "${ADAPTIVE[@]}"
    lab_download "$label-learning" "$ROUTER_LAN_IP" 30
    assert_download_ok
    first_adaptive=$(adaptive_hops)
    log "$label-learning: $(hops_line)"
    for round in 1 2; do
        before=$(adaptive_hops)
        lab_download "$label-learned$round" "$ROUTER_LAN_IP" 30
        assert_download_ok
        learned+=("$QUIC_MBPS")
        log "$label-learned$round: $(hops_line) (adaptive hops: $first_adaptive learning, $(( $(adaptive_hops) - before )) this run); throttled=$THROTTLED blackholed=$BLACKHOLED flows=$FLOWS"
    done
    (( $(hops learned) >= 1 )) || fail "$label: no hop ahead of a learned threshold ($(hops_line))"

    HOP_INTERVAL=$5 lab_client_relay "${@:6}"
    lab_download "$label-fixed2" "$ROUTER_LAN_IP" 30
    assert_download_ok
    fixed+=("$QUIC_MBPS")

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
