# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# Shared by tests/integration/test_adaptive_*.sh (issue 9): lib/lab.sh's lab
# and relays at the lab's full 100 Mbit/s, with the ISP variant the test sets
# BEFORE sourcing (ISP_AGE, ISP_BYTES, ISP_BLACKHOLE: netns/lab's --age,
# --bytes, --blackhole; porthop is never told them), and:
#
#   hops REASON, ge A B               lib/lab.sh's
#   compare_variant REASON DIRECT_CAP FIXED_CAP LABEL
#                                     the acceptance of issue 9 for the
#                                     variant (see the function)
#   echo_lab_up                       no throttle, udp_echo behind the relays
#   lan_exchange PORT COUNT SECONDS   udp_exchange from lan through them
LAB_LINK_RATE=100mbit
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
export LAB_AGE="${ISP_AGE:-0}" LAB_BYTES="${ISP_BYTES:-0}" LAB_BLACKHOLE="${ISP_BLACKHOLE:-0}"

# Every client relay hops every 60 s (lib/lab.sh's HOP_INTERVAL), far longer
# than any threshold of the ISP: only adaptive hops can help.
HOP_INTERVAL=60s
ADAPTIVE=(--hop-on-stall 500ms --hop-on-slowdown)

hops_line() { echo "interval=$(hops interval) bytes=$(hops bytes) stall=$(hops stall) slowdown=$(hops slowdown)"; }

# A 20 MiB QUIC download three times: direct (cut at DIRECT_CAP; its rate is
# what it got by then), through porthop hopping every 60 s (cut at
# FIXED_CAP), and through porthop with the adaptive options. The adaptive run
# must be complete on one QUIC connection, >= 5x the direct rate, with hops
# of REASON; the fixed run unfinished and far slower: adaptation does the
# work, not the relay.
compare_variant() {
    local reason="$1" direct_cap="$2" fixed_cap="$3" label="$4" adaptive_cap=30
    QUIC_MB=20 lab_start_quic
    quic_server_stop   # each download below gets a fresh server
    log "ISP: $label"

    lab_download direct "$VPS_IP" "$direct_cap"
    local d_mbps=$QUIC_MBPS
    [[ $HANDSHAKES -eq 1 ]] || fail "direct: expected 1 QUIC handshake, server saw $HANDSHAKES"
    [[ $QUIC_COMPLETE -eq 0 ]] || fail "direct: finished within ${direct_cap}s ($QUIC_MBPS Mbit/s): the ISP did not hold it back"

    lab_server_relay
    lab_client_relay
    lab_download fixed "$ROUTER_LAN_IP" "$fixed_cap"
    local f_mbps=$QUIC_MBPS f_complete=$QUIC_COMPLETE f_hops n
    f_hops="$(hops_line)"
    [[ $HANDSHAKES -eq 1 ]] || fail "fixed: expected 1 QUIC handshake, server saw $HANDSHAKES"
    [[ $FLOWS -eq 1 ]] || fail "fixed: expected the download on 1 ISP flow (no hop within 60 s), saw $FLOWS"

    lab_client_relay "${ADAPTIVE[@]}"
    lab_download adaptive "$ROUTER_LAN_IP" "$adaptive_cap"
    local a_mbps=$QUIC_MBPS
    log "adaptive hops: $(hops_line)"
    assert_download_ok
    n="$(hops "$reason")"
    [[ -n "$n" && "$n" -ge 1 ]] || fail "adaptive: no hop with reason $reason (hops: $(hops_line))"
    [[ "$(hops interval)" == 0 ]] || fail "adaptive: an interval hop happened; the 60 s interval must never fire here"
    ge "$a_mbps" "$(awk -v d="$d_mbps" 'BEGIN {print 5 * d}')" ||
        fail "adaptive: $a_mbps Mbit/s is not >= 5x the direct $d_mbps Mbit/s"
    [[ $f_complete -eq 0 ]] || fail "fixed: finished within ${fixed_cap}s ($f_mbps Mbit/s) without adaptive hops: the ISP did not hold it back"
    ge "$(awk -v a="$a_mbps" 'BEGIN {print a / 3}')" "$f_mbps" ||
        fail "fixed: $f_mbps Mbit/s is not well below (1/3 of) the adaptive $a_mbps Mbit/s"
    log "RESULT $label: direct $d_mbps Mbit/s; fixed 60s $f_mbps Mbit/s ($f_hops); adaptive $a_mbps Mbit/s ($(hops_line)); $(awk -v a="$a_mbps" -v d="$d_mbps" 'BEGIN {printf "%.1f", a / d}')x direct"
}

# For the tests with a UDP application instead of QUIC: the lab without a
# throttle, udp_echo (tools/) in vps as the relays' upstream, both relays.
echo_lab_up() {
    lab_start
    start_bg echo ip netns exec "$NS_VPS" "$PORTHOP_TOOLS/udp_echo" --listen 127.0.0.1:4433
    wait_ready 10 "$LAST_PID" "udp_echo to listen on 127.0.0.1:4433 in vps" udp_listening "$NS_VPS" 4433
    lab_server_relay
    lab_client_relay "${ADAPTIVE[@]}"
    log "lab $LAB_ID up, no throttle; udp_echo behind the relays; client relay --hop-interval $HOP_INTERVAL ${ADAPTIVE[*]}"
}

# lan_exchange PORT COUNT SECONDS: one application run from lan source port PORT
# (the same port: the same relay session), COUNT echoed datagrams of 1..1472
# bytes paced over SECONDS; fails unless all come back intact. Order is not
# asserted here (these tests count hops; the relay-pair tests assert order):
# the lab's four namespaces and shaped links reordered one echo in 2000 once
# (CI, 2026-12-01) with no hop in flight, and UDP promises no order.
lan_exchange() {
    exchange "$NS_LAN" --target "$ROUTER_LAN_IP:4433" --bind "$LAN_IP:$1" --count "$2" --spread "$3" \
        --timeout $(( $3 + 10 )) --allow-reorder ||
        fail "udp_exchange ($2 datagrams over $3 s) did not get them all back: $(tail -n 2 "$WORKDIR/exchange.out")"
}
