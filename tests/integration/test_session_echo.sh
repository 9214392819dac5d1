#!/usr/bin/env bash
# Session mode (docs/protocol.md): client relay -> server relay over a 50-port
# set with --hop-interval 200ms. 5,000 datagrams of 1..1439 bytes (the most
# that fits a 1500 MTU with the 33-byte overhead) come back intact and in
# order; the router between the relays sees at least 10 distinct (source
# port, destination port) pairs and at least 5 distinct source ports (the
# client relay hops its source port too).
. "$(dirname "$0")/lib/pair.sh"

COUNT=5000
MIN_PAIRS=10
MIN_SPORTS=5

setup_topology
# The (source port, destination port) pairs the router forwards towards srv.
nsx "$NS_MID" nft -f - <<'NFT'
table inet porthop_session {
    set pairs { type inet_service . inet_service; size 65535; flags dynamic; }
    chain forward {
        type filter hook forward priority 1; policy accept;
        oifname "m1" ip protocol udp add @pairs { udp sport . udp dport }
    }
}
NFT

"$PORTHOP_BIN" genkey >"$WORKDIR/psk"
chmod 600 "$WORKDIR/psk"
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT" --mode session --psk-file "$WORKDIR/psk" --metrics "$SERVER_METRICS"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --mode session --psk-file "$WORKDIR/psk" --hop-interval 200ms \
    --hop-grace 1s --metrics "$CLIENT_METRICS"
wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"

check "$COUNT datagrams (sizes 1..1439, window 64, spread over 4 s) through both relays in session mode come back intact and in order"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --count "$COUNT" --window 64 --max-size 1439 --spread 4 --timeout 30 ||
    fail "the session-mode echo roundtrip lost, reordered or corrupted datagrams (see the udp_exchange counts above)"
ok "$COUNT/$COUNT back intact and in order"

check "the router saw >= $MIN_PAIRS distinct (source port, destination port) pairs and >= $MIN_SPORTS source ports towards the server relay"
nsx "$NS_MID" nft list set inet porthop_session pairs | grep -oE '[0-9]+ \. [0-9]+' | sort -u >"$WORKDIR/pairs"
pairs=$(wc -l <"$WORKDIR/pairs")
sports=$(awk '{print $1}' "$WORKDIR/pairs" | sort -u | wc -l)
mapfile -t dports < <(mid_dports)
log "router: $pairs distinct (sport, dport) pairs, $sports source ports, ${#dports[@]} destination ports"
for p in "${dports[@]}"; do
    (( p >= PORTSET_LO && p <= PORTSET_HI )) || fail "the client relay sent to port $p, outside the port set $PORTSET"
done
(( pairs >= MIN_PAIRS )) || fail "only $pairs distinct (sport, dport) pairs (need >= $MIN_PAIRS): is the client relay hopping?"
(( sports >= MIN_SPORTS )) || fail "only $sports distinct source ports (need >= $MIN_SPORTS): the source port does not hop"
ok "$pairs pairs, $sports source ports"

check "one session on the server relay, no datagram rejected, old sockets closed after the grace period"
v=$(metric_value "$NS_SRV" "$SERVER_METRICS" porthop_sessions_opened_total)
[[ $v == 1 ]] || fail "the server relay opened $v sessions (want 1: sessions are keyed by id, not by source port)"
for reason in auth replay malformed; do
    v=$(metric_value "$NS_SRV" "$SERVER_METRICS" porthop_dropped_packets_total "reason=\"$reason\"")
    [[ $v == 0 ]] || fail "the server relay dropped $v datagrams as $reason"
    v=$(metric_value "$NS_CLI" "$CLIENT_METRICS" porthop_dropped_packets_total "reason=\"$reason\"")
    [[ $v == 0 ]] || fail "the client relay dropped $v datagrams as $reason"
done
# 1 downstream socket + 1 current upstream socket once the grace period is over.
wait_until 5 udp_socket_count_is "$NS_CLI" "$CLIENT_PID" 2 ||
    fail "the client relay holds $(udp_socket_count_of_pid "$NS_CLI" "$CLIENT_PID") UDP sockets 5 s after the traffic (want 2)"
ok "1 session, 0 auth/replay/malformed drops, 2 client sockets"

check "1000 datagrams of 1440..2439 bytes (too large for --mtu 1500 once framed: two pieces each) cross in pieces both ways, across hops, and come back intact and in order"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --count 1000 --window 16 --min-size 1440 --max-size 2439 --spread 2 \
    --timeout 30 || fail "datagrams in pieces were lost, reordered or corrupted (see the udp_exchange counts above)"
up=$(metric_value "$NS_CLI" "$CLIENT_METRICS" porthop_pieces_total 'direction="upstream"')
down=$(metric_value "$NS_CLI" "$CLIENT_METRICS" porthop_pieces_total 'direction="downstream"')
(( up >= 2000 && down >= 2000 )) || fail "the client relay counted $up pieces sent and $down received (want >= 2000 each)"
for reason in reassembly_timeout reassembly_full bad_piece oversize; do
    v=$(metric_value "$NS_SRV" "$SERVER_METRICS" porthop_dropped_packets_total "reason=\"$reason\"")
    [[ $v == 0 ]] || fail "the server relay dropped $v as $reason"
    v=$(metric_value "$NS_CLI" "$CLIENT_METRICS" porthop_dropped_packets_total "reason=\"$reason\"")
    [[ $v == 0 ]] || fail "the client relay dropped $v as $reason"
done
ok "1000/1000 back; $up pieces sent and $down received by the client relay"
