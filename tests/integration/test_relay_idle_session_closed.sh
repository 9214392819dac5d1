#!/usr/bin/env bash
# With --idle-timeout 1s, once traffic stops the session is closed: the client
# relay's upstream socket (and the server relay's socket to the upstream)
# disappears within a few seconds, not before the timeout, and
# porthop_sessions_closed_total{reason="idle"} becomes 1 on both relays.
. "$(dirname "$0")/lib/pair.sh"

DEADLINE=5   # seconds after the last datagram

setup_topology
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT" --idle-timeout 1s --metrics "$SERVER_METRICS"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --hop-interval 200ms --idle-timeout 1s --metrics "$CLIENT_METRICS"
wait_metrics "$NS_CLI" "$CLIENT_METRICS" "$CLIENT_PID"
wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"

client_idle=$(udp_socket_count_of_pid "$NS_CLI" "$CLIENT_PID")
server_idle=$(udp_socket_count_of_pid "$NS_SRV" "$SERVER_PID")
log "UDP sockets before any traffic: client relay $client_idle, server relay $server_idle"

check "a session opens an extra UDP socket in each relay while traffic flows"
start_bg "udp_exchange" ip netns exec "$NS_CLI" "$PORTHOP_TOOLS/udp_exchange" --target "$CLI_V4:$CLIENT_PORT" \
    --bind "$CLI_V4:40000" --count 1000 --window 32 --spread 1.5 --timeout 20
EXCHANGE_PID=$LAST_PID
wait_ready 5 "$EXCHANGE_PID" "the client relay to open an upstream socket" \
    count_ge $(( client_idle + 1 )) udp_socket_count_of_pid "$NS_CLI" "$CLIENT_PID"
wait_ready 5 "$EXCHANGE_PID" "the server relay to open an upstream socket" \
    count_ge $(( server_idle + 1 )) udp_socket_count_of_pid "$NS_SRV" "$SERVER_PID"
ok "client relay: $(udp_socket_count_of_pid "$NS_CLI" "$CLIENT_PID") UDP sockets, server relay: $(udp_socket_count_of_pid "$NS_SRV" "$SERVER_PID")"
status=0
wait "$EXCHANGE_PID" || status=$?
stopped_ms=$(now_ms)
sed "s/^/[$TEST_NAME]     /" "$WORKDIR/udp_exchange.log"
(( status == 0 )) || fail "the exchange through the relays failed (exit $status)"

check "within ${DEADLINE}s of the last datagram (but not before 1s) both relays close the session's socket"
wait_until "$DEADLINE" udp_socket_count_is "$NS_CLI" "$CLIENT_PID" "$client_idle" ||
    fail "the client relay still holds $(udp_socket_count_of_pid "$NS_CLI" "$CLIENT_PID") UDP sockets ${DEADLINE}s after traffic stopped (expected $client_idle): idle session not closed"
client_closed_ms=$(( $(now_ms) - stopped_ms ))
wait_until "$DEADLINE" udp_socket_count_is "$NS_SRV" "$SERVER_PID" "$server_idle" ||
    fail "the server relay still holds $(udp_socket_count_of_pid "$NS_SRV" "$SERVER_PID") UDP sockets ${DEADLINE}s after traffic stopped (expected $server_idle): idle session not closed"
server_closed_ms=$(( $(now_ms) - stopped_ms ))
log "upstream socket gone after ${client_closed_ms} ms (client relay), ${server_closed_ms} ms (server relay)"
(( client_closed_ms >= 900 )) || fail "the client relay closed the session after ${client_closed_ms} ms, before the 1s idle timeout"
(( server_closed_ms >= 900 )) || fail "the server relay closed the session after ${server_closed_ms} ms, before the 1s idle timeout"
ok "both sessions closed after ~1s idle"

check 'porthop_sessions_closed_total{reason="idle"} is 1 and porthop_sessions is 0 on both relays'
for side in client server; do
    if [[ $side == client ]]; then ns=$NS_CLI ep=$CLIENT_METRICS; else ns=$NS_SRV ep=$SERVER_METRICS; fi
    if ! wait_until 3 metric_equals "$ns" "$ep" porthop_sessions_closed_total 'reason="idle"' 1; then
        v=$(metric_value "$ns" "$ep" porthop_sessions_closed_total 'reason="idle"') || v="(no such sample)"
        fail "$side relay: porthop_sessions_closed_total{reason=\"idle\"} is $v, expected 1"
    fi
    v=$(metric_value "$ns" "$ep" porthop_sessions) || v="(no such sample)"
    [[ $v == 0 ]] || fail "$side relay: porthop_sessions is $v after the idle close, expected 0"
    ok "$side relay: closed{reason=\"idle\"} = 1, sessions = 0"
done
