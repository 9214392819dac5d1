#!/usr/bin/env bash
# Session mode's cipher selection (docs/protocol.md, "Ciphers"): a server
# relay without AES-256-GCM (played with PORTHOP_NO_AESGCM=1, as on an arm64
# VPS) answers the client relay's first AES-256-GCM datagrams with an
# authenticated notice; the client relay falls back to XChaCha20-Poly1305
# for every session, and 2,000 datagrams then come back intact and in order.
. "$(dirname "$0")/lib/pair.sh"

COUNT=2000

setup_topology
"$PORTHOP_BIN" genkey >"$WORKDIR/psk"
chmod 600 "$WORKDIR/psk"
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
export PORTHOP_NO_AESGCM=1
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT" --mode session --psk-file "$WORKDIR/psk" --metrics "$SERVER_METRICS"
unset PORTHOP_NO_AESGCM
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --mode session --psk-file "$WORKDIR/psk" --metrics "$CLIENT_METRICS"
wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"
grep -q "AES-256-GCM unavailable" "$SERVER_LOG" || fail "the server relay does not say it runs without AES-256-GCM"

if grep -qw aes /proc/cpuinfo; then
    check "the client relay's first datagrams (AES-256-GCM) get a notice, and it falls back to XChaCha20-Poly1305"
    nsx "$NS_CLI" "$PORTHOP_TOOLS/udp_send_from" --from "$CLI_V4:40000" --to "$CLI_V4:$CLIENT_PORT" \
        --count 20 --interval-ms 20 --size 500 --payload "first " | sed "s/^/[$TEST_NAME]     /"
    wait_until 5 grep -q "falling back to XChaCha20-Poly1305" "$CLIENT_LOG" ||
        fail "the client relay did not fall back to XChaCha20-Poly1305 (see $CLIENT_LOG)"
    v=$(metric_value "$NS_SRV" "$SERVER_METRICS" porthop_dropped_packets_total 'reason="auth"')
    (( v >= 1 )) || fail "the server relay counted no AES-256-GCM datagram it could not open (auth drops: $v)"
    ok "fell back after $v refused datagrams"
else
    log "this CPU has no AES-256-GCM: the client relay starts in XChaCha20-Poly1305, nothing to fall back from"
fi

check "$COUNT datagrams through both relays come back intact and in order"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --count "$COUNT" --window 64 --max-size 1439 --spread 2 --timeout 30 ||
    fail "after the fallback the session-mode echo lost, reordered or corrupted datagrams (see the udp_exchange counts above)"
for reason in malformed auth replay; do
    v=$(metric_value "$NS_CLI" "$CLIENT_METRICS" porthop_dropped_packets_total "reason=\"$reason\"")
    [[ $v == 0 ]] || fail "the client relay dropped $v replies as $reason"
done
ok "$COUNT/$COUNT back intact and in order; the client relay dropped no reply"
