#!/usr/bin/env bash
# A VPN through the relay pair (docs/protocol.md, "Pieces"): a WireGuard
# tunnel (userspace wireguard-go, its default MTU 1420, so 1452-byte UDP
# datagrams) between the application's namespace and the server's, carried
# by the client relay and the server relay, first in plain mode, then in
# session mode (where those datagrams do not fit --mtu 1500 once framed and
# cross as pieces). A bulk TCP transfer inside the tunnel, each way, comes
# out byte-identical in both modes; on a $LINK_RATE line (the router shapes
# both ways, as netns/lab's link does: uncapped, the transfers measure how
# much CPU the 2-core machine has left for them, not whether the tunnel
# carries a line's rate), session mode's rate is within 20% of
# plain mode's (the median of $ROUNDS transfers each way per mode, the modes
# taking turns: on the shared machine one transfer in three may run at half
# or twice the others' rate for reasons of its own, and neither side wins by
# such a run); the router
# between the relays forwards no IP fragment, and session mode's pieces are
# counted.
. "$(dirname "$0")/lib/pair.sh"
require_commands wireguard-go wg socat sha256sum ping
[[ -c /dev/net/tun ]] || fail "/dev/net/tun missing: wireguard-go needs TUN"

MB=${VPN_TUNNEL_MB:-24}
LINK_RATE=${VPN_TUNNEL_RATE:-200mbit}
MIN_RATIO=0.8
ROUNDS=${VPN_TUNNEL_ROUNDS:-3}
WG_PORT=51820
TUN_CLI=10.99.0.1
TUN_SRV=10.99.0.2
UP_PORT=9100
DOWN_PORT=9101

setup_topology
for dev in m0 m1; do
    nsx "$NS_MID" tc qdisc replace dev "$dev" root handle 1: htb default 10
    nsx "$NS_MID" tc class add dev "$dev" parent 1: classid 1:10 htb rate "$LINK_RATE" ceil "$LINK_RATE" quantum 1514
    nsx "$NS_MID" tc qdisc add dev "$dev" parent 1:10 handle 10: pfifo limit 1000
done
log "line: $LINK_RATE each way"
# IP fragments the router forwards, either way.
nsx "$NS_MID" nft -f - <<'NFT'
table inet porthop_vpn {
    counter fragments { }
    chain forward {
        type filter hook forward priority 1; policy accept;
        ip frag-off & 0x3fff != 0 counter name "fragments"
        exthdr frag exists counter name "fragments"
    }
}
NFT
fragments() { nsx "$NS_MID" nft list counter inet porthop_vpn fragments | grep -oE 'packets [0-9]+' | grep -oE '[0-9]+'; }

"$PORTHOP_BIN" genkey >"$WORKDIR/psk"
chmod 600 "$WORKDIR/psk"
head -c $(( MB * 1024 * 1024 )) /dev/urandom >"$WORKDIR/data"
want=$(sha256sum <"$WORKDIR/data" | cut -d' ' -f1)

# ------------------------------------------------------------ the tunnel
# The tunnel in cli sends to the client relay's listening address; in srv it is
# the relays' upstream and learns its peer's endpoint (the server relay's
# session socket) from the first authenticated packet, as WireGuard roams.
# Interface names of this run only: wireguard-go's control socket
# (/var/run/wireguard/NAME.sock) is shared by every namespace.
WG_CLI=wgc$SUFFIX
WG_SRV=wgs$SUFFIX
wg_up() {
    local ns=$1 dev=$2 addr=$3 key=$4
    start_bg "wireguard-go-$dev" ip netns exec "$ns" wireguard-go -f "$dev"
    wait_ready 10 "$LAST_PID" "wireguard-go to create $dev in $ns" ip -n "$ns" link show "$dev"
    nsx "$ns" wg set "$dev" private-key "$key" listen-port "$WG_PORT"
    ip -n "$ns" addr add "$addr/24" dev "$dev"
    ip -n "$ns" link set "$dev" up
}
(umask 077 && wg genkey >"$WORKDIR/cli.key" && wg genkey >"$WORKDIR/srv.key")
wg_up "$NS_CLI" "$WG_CLI" "$TUN_CLI" "$WORKDIR/cli.key"
wg_up "$NS_SRV" "$WG_SRV" "$TUN_SRV" "$WORKDIR/srv.key"
nsx "$NS_CLI" wg set "$WG_CLI" peer "$(wg pubkey <"$WORKDIR/srv.key")" allowed-ips "$TUN_SRV/32" \
    endpoint "$CLI_V4:$CLIENT_PORT" persistent-keepalive 1
nsx "$NS_SRV" wg set "$WG_SRV" peer "$(wg pubkey <"$WORKDIR/cli.key")" allowed-ips "$TUN_CLI/32"
log "tunnel MTU: $(ip -n "$NS_CLI" -o link show "$WG_CLI" | grep -oE 'mtu [0-9]+')"

tunnel_up() { nsx "$NS_CLI" ping -c 1 -W 1 "$TUN_SRV" >/dev/null 2>&1; }

# transfer up|down: $MB MiB through the tunnel; prints the rate in Mbit/s;
# fails unless the bytes are identical.
transfer() {
    local way=$1 out="$WORKDIR/received" t0 t1 got
    rm -f "$out"
    if [[ $way == up ]]; then
        start_bg "receiver-$way" ip netns exec "$NS_SRV" socat -u "TCP-LISTEN:$UP_PORT,bind=$TUN_SRV,reuseaddr" \
            "CREATE:$out"
        local rx=$LAST_PID
        wait_ready 5 "$rx" "the receiver in srv" tcp_listening "$NS_SRV" "$UP_PORT"
        t0=$(now_ns)
        nsx "$NS_CLI" timeout 60 socat -u "OPEN:$WORKDIR/data" "TCP:$TUN_SRV:$UP_PORT" ||
            fail "the transfer up the tunnel failed"
        wait_until 60 not_running "$rx" || fail "the receiver did not see the end of the transfer up"
    else
        start_bg "sender-$way" ip netns exec "$NS_SRV" socat -u "OPEN:$WORKDIR/data" \
            "TCP-LISTEN:$DOWN_PORT,bind=$TUN_SRV,reuseaddr"
        local tx=$LAST_PID
        wait_ready 5 "$tx" "the sender in srv" tcp_listening "$NS_SRV" "$DOWN_PORT"
        t0=$(now_ns)
        nsx "$NS_CLI" timeout 60 socat -u "TCP:$TUN_SRV:$DOWN_PORT" "CREATE:$out" ||
            fail "the transfer down the tunnel failed"
    fi
    t1=$(now_ns)
    got=$(sha256sum <"$out" | cut -d' ' -f1)
    [[ $got == "$want" ]] || fail "the transfer $way moved $(file_size "$out") of $(file_size "$WORKDIR/data") bytes, not identical"
    awk -v b=$(( MB * 1024 * 1024 )) -v ns=$(( t1 - t0 )) 'BEGIN { printf "%.0f", b * 8 / (ns / 1e9) / 1e6 }'
}
tcp_listening() { [[ -n $(ip netns exec "$1" ss -Htln "sport = :$2") ]]; }

# cpu_seconds PID: user + system time of PID so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
# Each mode and direction's rates, one per round.
declare -A RATES=([plain-up]="" [plain-down]="" [session-up]="" [session-down]="")
run_mode() {
    local mode=$1 args=() r way
    [[ $mode == session ]] && args=(--mode session --psk-file "$WORKDIR/psk")
    start_server_relay "$SRV_V4" "$SRV_V4:$WG_PORT" "${args[@]}" --metrics "$SERVER_METRICS"
    start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" "${args[@]}" --metrics "$CLIENT_METRICS"
    wait_metrics "$NS_SRV" "$SERVER_METRICS" "$SERVER_PID"
    wait_until 15 tunnel_up || fail "no connection through the tunnel in $mode mode"
    for way in up down; do
        check "$MB MiB $way the WireGuard tunnel in $mode mode, byte-identical"
        r=$(transfer "$way")
        RATES[$mode-$way]+=" $r"
        ok "$r Mbit/s"
    done
    [[ $mode == session ]] && check_pieces
    log "CPU seconds for the two transfers: client relay $(cpu_seconds "$CLIENT_PID"), server relay $(cpu_seconds "$SERVER_PID")"
    stop_process "$CLIENT_PID"
    stop_process "$SERVER_PID"
}

check_pieces() {
    check "session mode: the 1452-byte datagrams crossed as pieces both ways, none lost to reassembly"
    local sent_up sent_down reason v
    sent_up=$(cmetric porthop_pieces_total 'direction="upstream"')
    sent_down=$(smetric porthop_pieces_total 'direction="downstream"')
    log "pieces: client relay sent ${sent_up:-?}, server relay sent ${sent_down:-?}"
    (( ${sent_up:-0} > 0 && ${sent_down:-0} > 0 )) || fail "no pieces counted: did the datagrams cross whole?"
    for reason in reassembly_timeout reassembly_full bad_piece oversize; do
        v=$(smetric porthop_dropped_packets_total "reason=\"$reason\"")
        [[ ${v:-0} == 0 ]] || fail "the server relay dropped $v as $reason"
        v=$(cmetric porthop_dropped_packets_total "reason=\"$reason\"")
        [[ ${v:-0} == 0 ]] || fail "the client relay dropped $v as $reason"
    done
    ok "pieces counted, no reassembly drop"
}

for (( round = 1; round <= ROUNDS; round++ )); do
    for mode in plain session; do
        run_mode "$mode"
        check "$mode mode: no IP fragment crossed the router"
        [[ $(fragments) == 0 ]] || fail "$(fragments) IP fragments crossed the router"
        ok "none"
    done
done

for way in up down; do
    check "session mode's rate $way is within 20% of plain mode's (the median of $ROUNDS each)"
    # shellcheck disable=SC2086 # the lists split into rates
    plain=$(median ${RATES[plain-$way]}) session=$(median ${RATES[session-$way]})
    log "plain $plain Mbit/s (runs:${RATES[plain-$way]}), session $session Mbit/s (runs:${RATES[session-$way]})"
    awk -v s="$session" -v p="$plain" -v m="$MIN_RATIO" 'BEGIN { exit !(s >= m * p) }' ||
        fail "session mode $way: $session Mbit/s, below $MIN_RATIO x plain mode's $plain Mbit/s"
    ok "ratio $(ratio "$session" "$plain")"
done
