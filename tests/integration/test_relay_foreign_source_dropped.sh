#!/usr/bin/env bash
# Datagrams sent to the client relay's upstream socket from a foreign source
# (the router's address, and the server relay's address but from a port
# outside the set) are dropped and counted as
# porthop_dropped_packets_total{reason="foreign_source"}; the application,
# exchanging with the echo server at the same time, never receives them and
# still gets all its own datagrams back.
. "$(dirname "$0")/lib/pair.sh"

COUNT=3000
PER_SOURCE=3

setup_topology
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --hop-interval 200ms --metrics "$CLIENT_METRICS"
wait_metrics "$NS_CLI" "$CLIENT_METRICS" "$CLIENT_PID"

FOREIGN='porthop_dropped_packets_total'
before=$(metric_value "$NS_CLI" "$CLIENT_METRICS" "$FOREIGN" 'reason="foreign_source"') || before=0
log "foreign_source drops before: $before"

# The application: one session, paced over 3 s, running while we inject.
start_bg "udp_exchange" ip netns exec "$NS_CLI" "$PORTHOP_TOOLS/udp_exchange" --target "$CLI_V4:$CLIENT_PORT" \
    --bind "$CLI_V4:40000" --count "$COUNT" --window 32 --spread 3 --timeout 20
EXCHANGE_PID=$LAST_PID
wait_ready 5 "$EXCHANGE_PID" "the client relay to open an upstream socket for the session" \
    count_ge 2 udp_socket_count_of_pid "$NS_CLI" "$CLIENT_PID"
mapfile -t upstream_ports < <(udp_ports_of_pid "$NS_CLI" "$CLIENT_PID" | grep -vx "$CLIENT_PORT")
(( ${#upstream_ports[@]} >= 1 )) || fail "cannot find the client relay's upstream socket in: $(udp_ports_of_pid "$NS_CLI" "$CLIENT_PID" | tr '\n' ' ')"
log "client relay's upstream socket(s): ${upstream_ports[*]}"

check "inject $PER_SOURCE datagrams per source into each upstream socket from $MID_CLI_V4 (foreign address) and $SRV_V4:30000 (server address, port outside $PORTSET)"
injected=0
for port in "${upstream_ports[@]}"; do
    nsx "$NS_MID" "$PORTHOP_TOOLS/udp_send_from" --from "$MID_CLI_V4:0" --to "$CLI_V4:$port" \
        --count "$PER_SOURCE" --size 100 --payload "FOREIGN-from-mid " | sed "s/^/[$TEST_NAME]     /"
    nsx "$NS_SRV" "$PORTHOP_TOOLS/udp_send_from" --from "$SRV_V4:30000" --to "$CLI_V4:$port" \
        --count "$PER_SOURCE" --size 200 --payload "FOREIGN-from-srv-port-30000 " | sed "s/^/[$TEST_NAME]     /"
    injected=$(( injected + 2 * PER_SOURCE ))
done

check "the application got all $COUNT of its own datagrams back and nothing else (no foreign payload)"
status=0
wait "$EXCHANGE_PID" || status=$?
sed "s/^/[$TEST_NAME]     /" "$WORKDIR/udp_exchange.log"
(( status == 0 )) ||
    fail "the application's exchange failed (exit $status): a foreign datagram reached it (foreign/unexpected/corrupt counts above) or its own data was lost"
ok "no foreign payload reached the application; $COUNT/$COUNT intact"

check "porthop_dropped_packets_total{reason=\"foreign_source\"} went up by exactly $injected"
expected=$(( before + injected ))
if ! wait_until 3 metric_equals "$NS_CLI" "$CLIENT_METRICS" "$FOREIGN" 'reason="foreign_source"' "$expected"; then
    now=$(metric_value "$NS_CLI" "$CLIENT_METRICS" "$FOREIGN" 'reason="foreign_source"') || now="(no such sample)"
    fail "foreign_source drops: $now, expected $expected ($before before + $injected injected)"
fi
ok "foreign_source drops: $before -> $expected"
alive "$CLIENT_PID" || fail "the client relay died"
