#!/usr/bin/env bash
# Issue 17, "blocked ports remembered": the ISP drops every datagram to or
# from a third of the server port set, outright (porthop is not told which).
# A port one session stalled on is avoided by every session of the client
# relay for 30 s, doubling while it keeps failing (relay/port_health.hpp), so
# the blocked ports cost about one stall each, not one per session per hop.
# 100 Mbit/s link, 9 server ports of which 3 blocked, --hop-interval 500ms
# --hop-on-stall 300ms; 16 MiB QUIC downloads one after another, each a new
# session of the same client relay:
#
#   clean1    no port blocked: the reference rate
#   learning  ports blocked: downloads until the relay stalled on 3 ports
#             (at most 8 downloads)
#   blocked1, clean2 (the ISP's block lifted for it), blocked2: the best
#             blocked run >= 0.8x the best clean run. Taking turns, a slow
#             spell of the shared machine's other load slows at most one run
#             of each side, never both.
#
# Every download complete on one QUIC connection; over all of them the relay
# remembered only blocked ports ("server port N stalled" in its log; a stall
# hop whose new port did not answer, as at the end of every download, blames
# no port), each once (twice if learning outlasted its first 30 s).
set -euo pipefail
export LAB_LINK_RATE=100mbit
PORTSET=20000-20008
. "$(dirname "$0")/lib/lab.sh"

QUIC_MB=16
RATIO=0.8
BLOCKED_PORTS=3


# The ISP blocks every third port of the set, both directions; `unblock`
# empties the set (the drop counter stays), `block` fills it again.
BLOCKED_SET=$(seq -s, 20000 3 20008)
block_ports() {
    ip netns exec "$NS_ISP" nft -f - <<EOF2
table inet porthop_block {
  counter dropped { }
  set ports { type inet_service; }
  chain forward {
    type filter hook forward priority -10; policy accept;
    udp dport @ports counter name dropped drop
    udp sport @ports counter name dropped drop
  }
}
EOF2
    block
}
block() {
    ip netns exec "$NS_ISP" nft add element inet porthop_block ports "{ $BLOCKED_SET }"
    log "ISP blocks ports $BLOCKED_SET"
}
unblock() {
    ip netns exec "$NS_ISP" nft flush set inet porthop_block ports
    log "ISP blocks no port"
}
# The ports the client relay remembered as stalled, one line each time.
remembered() { grep -oE 'server port [0-9]+ stalled' "$CLIENT_LOG" | awk '{print $3}' || true; }
block_drops() {
    ip netns exec "$NS_ISP" nft list counter inet porthop_block dropped | grep -oE 'packets [0-9]+' | awk '{print $2}'
}

lab_start
quic_prepare "$WORKDIR" "$QUIC_MB"
lab_server_relay
HOP_INTERVAL=500ms lab_client_relay --hop-on-stall 300ms

lab_download clean1 "$ROUTER_LAN_IP" 30
assert_download_ok
CLEAN=$QUIC_MBPS
log "clean: $(hops stall) stall hops (the end of each download stalls: nothing answers its last datagram)"
stalls_before=$(hops stall)

block_ports
blocked_run() {   # LABEL
    lab_download "$1" "$ROUTER_LAN_IP" 30
    log "$1: stall hops so far $(( $(hops stall) - stalls_before )), interval hops $(hops interval), ISP block drops $(block_drops)"
    assert_download_ok
}
for round in 1 2 3 4 5 6 7 8; do
    blocked_run "learning$round"
    (( $(remembered | wc -l) >= BLOCKED_PORTS )) && break
done
blocked_run blocked1
LAST=$QUIC_MBPS
unblock
lab_download clean2 "$ROUTER_LAN_IP" 30
assert_download_ok
CLEAN=$(best "$CLEAN" "$QUIC_MBPS")
block
blocked_run blocked2
LAST=$(best "$LAST" "$QUIC_MBPS")
stalls=$(( $(hops stall) - stalls_before ))
learned=$(remembered | sort -n | tr '\n' ' ')
log "RESULT blocked: best after learning $LAST Mbit/s vs clean $CLEAN Mbit/s ($(awk -v a="$LAST" -v c="$CLEAN" 'BEGIN {printf "%.2f", a / c}')x); remembered ports: $learned; $stalls stall hops; ISP block drops $(block_drops)"
[[ -n $learned ]] || fail "the relay remembered no stalled port: the ISP's block did not bite (the test proves nothing)"
for port in $learned; do
    (( (port - 20000) % 3 == 0 )) || fail "the relay remembered port $port, which the ISP does not block"
done
# Once per port, or twice when learning outlasted its first 30 s.
(( $(remembered | wc -l) <= 2 * BLOCKED_PORTS )) || fail "$(remembered | wc -l) ports remembered for $BLOCKED_PORTS blocked: not once per port"
ge "$LAST" "$(awk -v c="$CLEAN" -v r="$RATIO" 'BEGIN {print c * r}')" ||
    fail "blocked: $LAST Mbit/s is below ${RATIO}x the clean $CLEAN Mbit/s"
ok "only blocked ports remembered, each once; after learning >= ${RATIO}x the clean rate"
