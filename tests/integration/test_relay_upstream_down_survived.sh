#!/usr/bin/env bash
# The server relay's --upstream points at a port where nothing listens (every
# datagram it forwards draws an ICMP port unreachable). Traffic flows for a
# second; both relays stay alive; then, once an echo server starts on that
# port, traffic goes through again, both on the session that hit the dead
# upstream and on a new one.
. "$(dirname "$0")/lib/pair.sh"

setup_topology
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --hop-interval 200ms
udp_listening "$NS_SRV" "$ECHO_PORT" && fail "something already listens on the upstream port $ECHO_PORT"

check "1 s of traffic (100 datagrams, source port 40000) while nothing listens upstream"
nsx "$NS_CLI" "$PORTHOP_TOOLS/udp_send_from" --from "$CLI_V4:40000" --to "$CLI_V4:$CLIENT_PORT" \
    --count 100 --interval-ms 10 --size 500 --payload "to-a-dead-upstream " | sed "s/^/[$TEST_NAME]     /"
packets=$(mid_udp_packets)
(( packets >= 100 )) || fail "only $packets of the 100 datagrams reached the server side: the test did not exercise the dead upstream"
ok "$packets datagrams crossed to the server relay"

check "both relays are still alive"
alive "$SERVER_PID" || fail "the server relay died after forwarding to a closed upstream port"
alive "$CLIENT_PID" || fail "the client relay died while the upstream was down"
ok "server relay (pid $SERVER_PID) and client relay (pid $CLIENT_PID) alive"

check "after an echo server starts upstream, traffic goes through again (the old session from port 40000 and a new one from 40001)"
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --bind "$CLI_V4:40000" --sessions 2 --count 1000 \
    --window 32 --spread 1 --timeout 20 ||
    fail "traffic does not go through after the upstream came back (see the udp_exchange counts above)"
ok "both sessions got 1000/1000 back"
alive "$SERVER_PID" || fail "the server relay died"
alive "$CLIENT_PID" || fail "the client relay died"
