#!/usr/bin/env bash
# The echo roundtrip with every address IPv6: application -> client relay
# ([fd00:77:1::2]) -> router -> server relay ([fd00:77:2::2], 50 ports, 200 ms
# hops) -> echo server ([fd00:77:2::2]). 10,000 datagrams of 1..1472 bytes come
# back intact and in order, and the router sees only IPv6 UDP towards the
# server relay, on >= 10 distinct ports of the set.
. "$(dirname "$0")/lib/pair.sh"

COUNT=10000
MIN_PORTS=10

setup_topology
start_echo "$NS_SRV" "[$SRV_V6]:$ECHO_PORT"
start_server_relay "[$SRV_V6]" "[$SRV_V6]:$ECHO_PORT"
start_client_relay "[$CLI_V6]:$CLIENT_PORT" "[$SRV_V6]" --hop-interval 200ms

check "$COUNT datagrams (1..1472 bytes) over IPv6 end to end come back intact and in order"
exchange "$NS_CLI" --target "[$CLI_V6]:$CLIENT_PORT" --count "$COUNT" --window 64 --spread 5 --timeout 30 ||
    fail "the IPv6 echo roundtrip lost, reordered or corrupted datagrams (see the udp_exchange counts above)"
ok "$COUNT/$COUNT back intact and in order over IPv6"

check "the router forwarded the traffic as IPv6 on >= $MIN_PORTS distinct ports of $PORTSET"
packets=$(mid_udp_packets)
bytes=$(mid_udp_bytes)
payload=$(exchange_payload_bytes "$COUNT")
v4_packets=$(mid_udp_packets udp_to_srv_v4)
mapfile -t ports < <(mid_dports)
log "router: $packets UDP packets ($bytes bytes; the payloads were $payload) towards srv ($v4_packets of them IPv4), ${#ports[@]} distinct destination ports: ${ports[*]}"
(( bytes >= payload )) || fail "the router counted only $bytes bytes of UDP towards srv (the payloads alone were $payload)"
(( v4_packets == 0 )) || fail "$v4_packets UDP packets towards srv were IPv4; everything should be IPv6"
for p in "${ports[@]}"; do
    (( p >= PORTSET_LO && p <= PORTSET_HI )) || fail "the client relay sent to port $p, outside the port set $PORTSET"
done
(( ${#ports[@]} >= MIN_PORTS )) ||
    fail "only ${#ports[@]} distinct destination ports towards the server relay over IPv6 (need >= $MIN_PORTS)"
ok "${#ports[@]} distinct destination ports, all IPv6 and in the set"
