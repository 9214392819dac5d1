#!/usr/bin/env bash
# client relay -> server relay over a 50-port set with --hop-interval 200ms:
# 10,000 datagrams of sizes 1..1472 come back intact and in order, and the
# router between the relays sees them use at least 10 distinct destination
# ports towards the server relay, all of them in the port set.
. "$(dirname "$0")/lib/pair.sh"

COUNT=10000
MIN_PORTS=10

setup_topology
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --hop-interval 200ms

check "$COUNT datagrams (sizes cycling 1..1472, window 64, spread over >= 5 s) through both relays come back intact and in order"
# Spread over 5 s so that a 200 ms hop interval gives ~25 hops.
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --count "$COUNT" --window 64 --spread 5 --timeout 30 ||
    fail "the echo roundtrip lost, reordered or corrupted datagrams (see the udp_exchange counts above)"
ok "$COUNT/$COUNT back intact and in order"

check "the router saw at least $MIN_PORTS distinct UDP destination ports towards the server relay, all within $PORTSET"
packets=$(mid_udp_packets)
bytes=$(mid_udp_bytes)
payload=$(exchange_payload_bytes "$COUNT")
mapfile -t ports < <(mid_dports)
log "router: $packets UDP packets ($bytes bytes; the payloads were $payload) towards srv, ${#ports[@]} distinct destination ports: ${ports[*]}"
(( bytes >= payload )) || fail "the router counted only $bytes bytes of UDP towards srv (the payloads alone were $payload): traffic bypassed mid?"
for p in "${ports[@]}"; do
    (( p >= PORTSET_LO && p <= PORTSET_HI )) || fail "the client relay sent to port $p, outside the port set $PORTSET"
done
(( ${#ports[@]} >= MIN_PORTS )) ||
    fail "only ${#ports[@]} distinct destination ports towards the server relay (need >= $MIN_PORTS with a 200 ms hop interval over ~5 s): is the client relay hopping?"
ok "${#ports[@]} distinct destination ports, all in the set"
