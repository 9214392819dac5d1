#!/usr/bin/env bash
# SIGTERM with live sessions: both relays exit with status 0 within 3 s and
# release their sockets (docs/design.md, "Resources and limits": clean shutdown, exit 0).
. "$(dirname "$0")/lib/pair.sh"

setup_topology
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --hop-interval 200ms

log "opening two sessions"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --sessions 2 --count 500 --window 32 --timeout 20 ||
    fail "the exchange through the relays failed"

for side in client server; do
    if [[ $side == client ]]; then pid=$CLIENT_PID; else pid=$SERVER_PID; fi
    check "SIGTERM to the $side relay (pid $pid, sessions open): exit status 0 within 3 s"
    stop_process "$pid" 3
    (( STOP_STATUS == 0 )) || fail "the $side relay exited with status $STOP_STATUS on SIGTERM (137: did not exit within 3 s and was killed)"
    ok "$side relay exited 0"
done

check "the sockets are released"
udp_listening "$NS_CLI" "$CLIENT_PORT" && fail "UDP port $CLIENT_PORT still bound in cli after the client relay exited"
n=$(udp_listening_count "$NS_SRV" "$PORTSET_LO" "$PORTSET_HI")
(( n == 0 )) || fail "$n ports of $PORTSET still bound in srv after the server relay exited"
ok "no relay sockets left"
