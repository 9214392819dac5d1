#!/usr/bin/env bash
# porthop status against a running relay pair (README, "porthop status"), in
# plain and in session mode. After 2,000 echoed datagrams through the pair,
# hopping every 300 ms:
# - the client relay's table shows the session (the application's address),
#   the port it sends to now (in the set), its bytes and its hops; --json
#   says the same, bytes exactly, hops as /metrics counts them;
# - the server relay lists the session on the port the client relay sends
#   to, with the same bytes;
# - with no relay at the address, one line and exit 1: at once when the port
#   is closed, within the 2 s deadline when nothing answers at all.
. "$(dirname "$0")/lib/pair.sh"

COUNT=2000
MIN_HOPS=3

setup_topology
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
"$PORTHOP_BIN" genkey >"$WORKDIR/psk"
chmod 600 "$WORKDIR/psk"

status() { local ns=$1; shift; ip netns exec "$ns" "$PORTHOP_BIN" status "$@"; }

# check_mode plain|session: a fresh relay pair in that mode, traffic, and
# what porthop status says about it.
check_mode() {
    local mode=$1 max_size=1472 key=()
    if [[ $mode == session ]]; then
        max_size=1439  # 1500 - 28 - 33 (docs/protocol.md)
        key=(--mode session --psk-file "$WORKDIR/psk")
    fi
    log "---- $mode mode"
    start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT" "${key[@]}" --metrics "$SERVER_METRICS"
    start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" "${key[@]}" --hop-interval 300ms --metrics "$CLIENT_METRICS"
    wait_metrics "$NS_CLI" "$CLIENT_METRICS" "$CLIENT_PID"
    wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"

    exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --count "$COUNT" --max-size "$max_size" --window 32 --spread 3 \
        --timeout 30 || fail "the echo roundtrip through the relays failed"
    payload=$(exchange_payload_bytes "$COUNT" 1 "$max_size")

    check "porthop status --json on the client relay: one session from $CLI_V4, a port of the set, $payload bytes each way, >= $MIN_HOPS hops"
    status "$NS_CLI" --metrics "$CLIENT_METRICS" --json >"$WORKDIR/client.json" || fail "porthop status --json exited $?"
    jq -c . "$WORKDIR/client.json" | sed "s/^/[$TEST_NAME]     /" | cut -c1-400
    json() { jq -r "$1" "$WORKDIR/client.json"; }
    [[ $(json .role) == client && $(json .mode) == "$mode" && $(json .sessions_open) == 1 ]] ||
        fail "expected one client session in $mode mode"
    peer=$(json '.sessions[0].peer')
    port=$(json '.sessions[0].ports[0]')
    hops=$(json '.sessions[0].hops.interval')
    [[ $peer == "$CLI_V4":* ]] || fail "peer $peer is not the application's address $CLI_V4:..."
    (( port >= PORTSET_LO && port <= PORTSET_HI )) || fail "port $port is outside $PORTSET"
    [[ $(json '.sessions[0].bytes_up') == "$payload" ]] || fail "bytes_up $(json '.sessions[0].bytes_up'), sent $payload"
    [[ $(json '.sessions[0].bytes_down') == "$payload" ]] || fail "bytes_down $(json '.sessions[0].bytes_down'), echoed $payload"
    (( hops >= MIN_HOPS )) || fail "only $hops interval hops in 3 s at --hop-interval 300ms"
    counted=$(metric_value "$NS_CLI" "$CLIENT_METRICS" porthop_hops_total 'reason="interval"')
    [[ $hops == "$counted" ]] || fail "the session shows $hops interval hops, /metrics counts $counted"
    [[ $(json '.sessions[0].last_hop.reason') == interval ]] || fail "last hop: $(json '.sessions[0].last_hop')"
    ok "$peer on port $port, $payload bytes each way, $hops hops (as /metrics counts)"

    check "porthop status (table) on the client relay: the title, a header and one line for that session"
    status "$NS_CLI" --metrics "$CLIENT_METRICS" >"$WORKDIR/client.txt" || fail "porthop status exited $?"
    sed "s/^/[$TEST_NAME]     /" "$WORKDIR/client.txt"
    [[ $(head -n1 "$WORKDIR/client.txt") == "porthop client relay ($mode mode) at $CLIENT_METRICS: 1 session, most recently active first" ]] ||
        fail "unexpected title line"
    (( $(wc -l <"$WORKDIR/client.txt") == 3 )) || fail "expected a title, a header and one session line"
    line=$(sed -n 3p "$WORKDIR/client.txt")
    read -r -a cells <<<"$line"
    [[ ${cells[0]} == "$peer" && ${cells[1]} == "$port" ]] || fail "the session line does not start with $peer $port"
    [[ $line == *" $hops (interval $hops)" ]] || fail "the session line does not end with its hops: $hops (interval $hops)"
    ok "peer, port and hops on the session's line"

    check "porthop status on the server relay: the session on port $port, $payload bytes each way"
    status "$NS_SRV" --metrics "$SERVER_METRICS" --json >"$WORKDIR/server.json" || fail "porthop status --json exited $?"
    sjson() { jq -r "$1" "$WORKDIR/server.json"; }
    [[ $(sjson .role) == server && $(sjson .sessions_open) == 1 ]] || fail "expected one server session: $(cat "$WORKDIR/server.json")"
    [[ $(sjson '.sessions[0].ports[0]') == "$port" ]] || fail "the server relay last heard the session on $(sjson '.sessions[0].ports[0]'), the client sends to $port"
    [[ $(sjson '.sessions[0].bytes_up') == "$payload" && $(sjson '.sessions[0].bytes_down') == "$payload" ]] ||
        fail "server bytes: $(sjson '.sessions[0] | [.bytes_up, .bytes_down]')"
    [[ $(sjson '.sessions[0].peer') == "$CLI_V4":* ]] || fail "server peer $(sjson '.sessions[0].peer')"
    status "$NS_SRV" --metrics "$SERVER_METRICS" | sed "s/^/[$TEST_NAME]     /"
    ok "$(sjson '.sessions[0].peer') on port $port"

    stop_process "$CLIENT_PID"
    stop_process "$SERVER_PID"
}

check_mode plain
check_mode session

# expect_down ADDR LIMIT_MS WHAT: porthop status fails with one line and exit 1 within LIMIT_MS.
expect_down() {
    local addr=$1 limit=$2 what=$3 start rc=0 took
    start=$(now_ms)
    status "$NS_CLI" --metrics "$addr" >"$WORKDIR/down.out" 2>"$WORKDIR/down.err" || rc=$?
    took=$(( $(now_ms) - start ))
    log "porthop status --metrics $addr: exit $rc after $took ms: $(cat "$WORKDIR/down.err")"
    (( rc == 1 )) || fail "exit status $rc, expected 1"
    [[ ! -s $WORKDIR/down.out ]] || fail "printed on stdout: $(cat "$WORKDIR/down.out")"
    (( $(wc -l <"$WORKDIR/down.err") == 1 )) || fail "not one line on stderr"
    grep -qF "$what" "$WORKDIR/down.err" || fail "the message does not say \"$what\""
    grep -qF -- "--metrics $addr" "$WORKDIR/down.err" || fail "the message does not name --metrics $addr"
    (( took <= limit )) || fail "took $took ms (limit $limit)"
}

check "no relay at the address: one line, exit 1 (closed port: at once; silent address: within the 2 s deadline)"
expect_down 127.0.0.1:9 1000 "Connection refused"
# 10.77.2.99 is routed (via mid) but nobody has it: the SYN goes unanswered.
expect_down 10.77.2.99:9101 3000 "no answer within 2000 ms"
ok "both"
