#!/usr/bin/env bash
# The server relay with --workers 2 (docs/deployment.md, "Workers"):
#  1. plain mode: 32 clients, each its own IP and one source port, straight
#     to the server relay on three ports in turn (hops): all echoed, both
#     workers hold sessions (porthop_worker_sessions), and each client is one
#     session (every hop reached the worker that holds it);
#  2. session mode through the client relay, 24 sessions hopping their source
#     and destination ports every 200 ms: all echoed, spread over both
#     workers, each session opened once (every hop reached the same worker);
#     `porthop probe` (its datagrams steered to worker 0) is answered.
. "$(dirname "$0")/lib/pair.sh"

CLIENTS=32
SESSIONS=24

worker_sessions() { metric_value "$NS_SRV" "$SERVER_METRICS" porthop_worker_sessions "worker=\"$1\""; }
opened() { metric_value "$NS_SRV" "$SERVER_METRICS" porthop_sessions_opened_total; }

# both_workers_hold TOTAL: each worker has sessions and together TOTAL.
both_workers_hold() {
    local w0 w1
    w0=$(worker_sessions 0) && w1=$(worker_sessions 1) || return 1
    log "porthop_worker_sessions: worker 0 $w0, worker 1 $w1"
    (( w0 > 0 && w1 > 0 && w0 + w1 == $1 ))
}

require_tools
setup_topology
for i in $(seq 1 "$CLIENTS"); do
    ip -n "$NS_CLI" addr add "10.77.1.$((100 + i))/24" dev c0
done
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"

check "plain: $CLIENTS clients (one IP and source port each, hopping over 3 ports) through a 2-worker server relay"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT" --workers 2 --metrics "$SERVER_METRICS"
wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"
wait_until 5 grep -q "2 workers" "$SERVER_LOG" || fail "the server relay did not start 2 workers"
# client I: three exchanges in turn from one source address, each to
# another port of the set.
client() {
    local port
    for port in 20000 20017 20049; do
        ip netns exec "$NS_CLI" "$PORTHOP_TOOLS/udp_exchange" --target "$SRV_V4:$port" \
            --bind "10.77.1.$((100 + $1)):40000" --count 20 --timeout 10 >"$WORKDIR/plain-$1-$port.out" 2>&1 || return 1
    done
}
pids=()
for i in $(seq 1 "$CLIENTS"); do
    client "$i" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
(( failed == 0 )) || fail "$failed of ${#pids[@]} clients lost or corrupted datagrams"
wait_until 5 both_workers_hold "$CLIENTS" || fail "the sessions did not spread over both workers"
[[ $(opened) == "$CLIENTS" ]] ||
    fail "opened $(opened) sessions for $CLIENTS clients (a hop reached the other worker and opened the session again)"
ok "all echoed; $CLIENTS sessions, worker 0 $(worker_sessions 0), worker 1 $(worker_sessions 1)"
stop_process "$SERVER_PID" 5

check "session: $SESSIONS sessions hopping source and destination ports every 200 ms"
"$PORTHOP_BIN" genkey >"$WORKDIR/psk"
chmod 600 "$WORKDIR/psk"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT" --workers 2 --mode session --psk-file "$WORKDIR/psk" \
    --metrics "$SERVER_METRICS"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --mode session --psk-file "$WORKDIR/psk" --hop-interval 200ms \
    --hop-grace 1s --metrics "$CLIENT_METRICS"
wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --sessions "$SESSIONS" --count 100 --spread 3 --timeout 30 ||
    fail "the session-mode exchange through 2 workers lost, reordered or corrupted datagrams"
wait_until 5 both_workers_hold "$SESSIONS" || fail "the sessions did not spread over both workers"
[[ $(opened) == "$SESSIONS" ]] ||
    fail "opened $(opened) sessions for $SESSIONS (a hop reached the other worker and opened the session again)"
ok "all echoed; $SESSIONS sessions, each opened once: worker 0 $(worker_sessions 0), worker 1 $(worker_sessions 1)"

check "session: porthop probe against the 2-worker server relay is answered"
ip netns exec "$NS_CLI" "$PORTHOP_BIN" probe --server "$SRV_V4:$PORTSET" --psk-file "$WORKDIR/psk" --duration 5s \
    --json >"$WORKDIR/probe.json" 2>"$WORKDIR/probe.log" || fail "porthop probe was not answered (status $?)"
[[ $(jq -r .answered "$WORKDIR/probe.json") == true ]] || fail "porthop probe: not answered"
ok "answered"
