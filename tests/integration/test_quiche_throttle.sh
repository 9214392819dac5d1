#!/usr/bin/env bash
# Cloudflare quiche (npm @matrixai/quic, tests/quiche/peer.mjs) as the QUIC
# client and server across the throttling-ISP lab (netns/lab), next to the
# ngtcp2 tests: directly, through porthop in plain mode, and through porthop
# in session mode.
#
# quiche's JavaScript layer costs about 0.6 CPU-s per MB, so one connection
# tops out near 12-17 Mbit/s on these machines (less while they are busy):
# the ISP here throttles after 2 s or 500 kB down to 200 kbit/s, and the
# relays hop every 500 ms or 200 kB, whichever comes first.
#
# Asserts, through porthop in each mode: one QUIC connection (the quiche
# server accepted exactly one; the client never reconnects) carries a
# DOWNLOAD_MB MiB download and a 1 MiB echo, every byte verified (SHA-256 of
# the regenerated payload); the ISP saw >= 5 distinct flows; the download is
# >= 4x the direct rate. Directly, the same download is throttled (not done
# within DIRECT_CAP s), so the throttler is proven.
# Env: PORTHOP_BIN (binary), PORTHOP_SRC (repo root).
. "$(dirname "$0")/lib/lab.sh"
. "$(dirname "$0")/lib/quiche.sh"
require_commands node npm jq

export LAB_AGE=2s LAB_BYTES=500000 LAB_SLOW_RATE=200kbit LAB_LINK_RATE=50mbit
DOWNLOAD=$((4 * 1048576))
ECHO=1048576
DIRECT_CAP=12        # seconds; the throttled direct download is cut here
PORTHOP_CAP=60
HOP_INTERVAL=500ms   # and --hop-bytes 200000: whichever comes first
PORTSET=20000-20999
MIN_SPEEDUP=4

quiche_setup "$WORKDIR" || fail "cannot set up the quiche peer"
lab_start
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORKDIR/key.pem" \
    -out "$WORKDIR/cert.pem" -days 30 -subj /CN=porthop-lab >/dev/null 2>&1
log "quiche peer ready; ISP: >2s or >500kB -> 200kbit/s"

# transfer LABEL HOST CAP: a fresh quiche server in vps, counters reset, one
# client connection from lan to HOST:4433 (ECHO_BYTES echo after the download).
transfer() {
    local label=$1 host=$2 cap=$3 echo_bytes=${4:-$ECHO}
    quiche_server_start "$NS_VPS" 0.0.0.0:4433 "$WORKDIR/cert.pem" "$WORKDIR/key.pem" "$WORKDIR/quiche-server-$label.log" ||
        fail "$label: the quiche server did not start"
    "$LAB" --id "$LAB_ID" reset-counters
    quiche_client "$NS_LAN" "$host:4433" "$DOWNLOAD" "$echo_bytes" "$cap" "$WORKDIR/client-$label.out"
    CONNECTIONS=$(quiche_connections "$WORKDIR/quiche-server-$label.log")
    PEER=$(awk '/^connection 1 from/ {print $4; exit}' "$WORKDIR/quiche-server-$label.log")
    FLOWS=$(lab_counter flows)
    THROTTLED=$(lab_counter throttled)
    quiche_server_stop
    log "$label: $QUICHE_BYTES B in ${QUICHE_SECONDS}s = $QUICHE_MBPS Mbit/s, complete=$QUICHE_COMPLETE sha256_ok=$QUICHE_SHA_OK echo_ok=$QUICHE_ECHO_OK status=$QUICHE_STATUS connections=$CONNECTIONS (from $PEER) isp_flows=$FLOWS throttled=$THROTTLED"
}

# assert_relayed LABEL: the checks of a transfer through porthop.
assert_relayed() {
    local label=$1
    [[ $QUICHE_STATUS -eq 0 ]] || fail "$label: the quiche client failed (status $QUICHE_STATUS): $(tail -n 3 "$WORKDIR/client-$label.out.err")"
    [[ $QUICHE_COMPLETE -eq 1 ]] || fail "$label: download incomplete ($QUICHE_BYTES of $DOWNLOAD bytes)"
    [[ $QUICHE_SHA_OK -eq 1 ]] || fail "$label: downloaded bytes differ from the served ones (sha256)"
    [[ $QUICHE_ECHO_OK -eq 1 ]] || fail "$label: the $ECHO-byte echo did not come back whole and identical"
    [[ $CONNECTIONS -eq 1 ]] || fail "$label: the quiche server accepted $CONNECTIONS connections, want 1"
    ((FLOWS >= 5)) || fail "$label: crossed only $FLOWS distinct ISP flows (want >= 5): it did not hop"
    awk -v p="$QUICHE_MBPS" -v d="$D_MBPS" -v k="$MIN_SPEEDUP" 'BEGIN {exit !(p >= k * d)}' ||
        fail "$label: $QUICHE_MBPS Mbit/s is not >= ${MIN_SPEEDUP}x the direct $D_MBPS Mbit/s"
    log "ok: $label $QUICHE_MBPS Mbit/s vs direct $D_MBPS Mbit/s ($(awk -v p="$QUICHE_MBPS" -v d="$D_MBPS" 'BEGIN {printf "%.1f", p / d}')x), one connection, every byte verified"
}

relays_down() {
    stop_process "$CLIENT_PID"
    stop_process "$SERVER_PID"
    CLIENT_PID=""
}

# relays_up MODE_ARGS...: a server relay in vps, a client relay in router.
relays_up() {
    lab_server_relay "$@"
    lab_client_relay --hop-bytes 200000 "$@"
}

# 1. direct: throttled after its first 500 kB (no echo: the download is cut)
transfer direct "$VPS_IP" "$DIRECT_CAP" 0
D_MBPS=$QUICHE_MBPS
[[ $CONNECTIONS -eq 1 ]] || fail "direct: the quiche server accepted $CONNECTIONS connections, want 1"
[[ $THROTTLED -ge 1 ]] || fail "direct: the ISP did not throttle the flow (throttled=$THROTTLED)"
[[ $QUICHE_STATUS -eq 3 && $QUICHE_COMPLETE -eq 0 ]] ||
    fail "direct: a throttled download finished within ${DIRECT_CAP}s ($QUICHE_MBPS Mbit/s, status $QUICHE_STATUS): the throttler does not work"

# 2. plain mode
relays_up
transfer plain "$ROUTER_LAN_IP" "$PORTHOP_CAP"
log "plain: porthop_hops_total $(porthop_metric "$NS_ROUTER" "$CLIENT_METRICS" porthop_hops_total)"
assert_relayed plain
relays_down

# 3. session mode
"$PORTHOP_BIN" genkey >"$WORKDIR/psk"
chmod 600 "$WORKDIR/psk"
relays_up --mode session --psk-file "$WORKDIR/psk"
transfer session "$ROUTER_LAN_IP" "$PORTHOP_CAP"
log "session: porthop_hops_total $(porthop_metric "$NS_ROUTER" "$CLIENT_METRICS" porthop_hops_total)"
assert_relayed session
relays_down
