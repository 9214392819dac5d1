#!/usr/bin/env bash
# Real QUIC (ngtcp2 gtlsclient -> gtlsserver) across the throttling-ISP lab
# (netns/lab): directly, through porthop hopping faster than the ISP's age
# threshold, and through porthop with hopping disabled.
#
# Asserts: the hopping transfer is complete and byte-identical, uses one QUIC
# connection (one TLS handshake on the server), crosses >= 5 distinct ISP
# flows, and is >= 5x the direct rate; without hopping the transfer is
# throttled like the direct one (so the throttler, not only the relay, is
# proven). Env: PORTHOP_BIN (binary), PORTHOP_SRC (repo root).
set -euo pipefail

NAME=test_quic_throttle
PORTHOP_SRC="${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PORTHOP_BIN="${PORTHOP_BIN:-$PORTHOP_SRC/build/porthop}"

log() { printf '[%s] %s\n' "$NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || fail "needs root (network namespaces)"
[[ -x "$PORTHOP_BIN" ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
for tool in gtlsserver gtlsclient openssl nft tc; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done

# shellcheck source=/dev/null
. "$PORTHOP_SRC/netns/lib.sh"
LAB="$PORTHOP_SRC/netns/lab"

# The ISP: a flow older than 2 s or past 1 MB drops to 500 kbit/s.
LAB_ID="t$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export LAB_ID
export LAB_AGE=2s LAB_BYTES=1000000 LAB_SLOW_RATE=500kbit LAB_LINK_RATE=100mbit LAB_QUIET=1
MB=6                 # payload, MiB
DIRECT_CAP=10        # seconds; the throttled transfers are cut here
PORTHOP_CAP=30
HOP_FAST=500ms       # below the ISP's age threshold
HOP_NONE=10m         # longer than any transfer here: never hops
PORTSET=20000-20999

WORK="$(mktemp -d /tmp/porthop-it-$NAME.XXXXXX)"
PIDS=()
CLIENT_PID=""
# shellcheck disable=SC2317  # called from the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    quic_server_stop
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$LAB" --id "$LAB_ID" down || true
    if [[ $rc -ne 0 ]]; then
        for f in "$WORK"/porthop-*.log "$WORK"/client-*.log; do
            [[ -s "$f" ]] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
"$LAB" up
lab_load "$LAB_ID"
quic_prepare "$WORK" "$MB"
log "lab $LAB_ID up; payload $MB MiB; ISP: >2s or >1MB -> 500kbit/s"

# download LABEL HOST CAP: one fresh QUIC server, counters reset, one download.
download() {
    local label="$1" host="$2" cap="$3"
    quic_fresh_download "$NS_LAN" "$host" "$cap" "$label"
    log "$label: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s, complete=$QUIC_COMPLETE sha256_ok=$QUIC_SHA_OK handshakes=$HANDSHAKES isp_flows=$FLOWS throttled=$THROTTLED"
}

start_client_relay() {   # start_client_relay HOP_INTERVAL
    if [[ -n "$CLIENT_PID" ]]; then
        kill "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
    fi
    ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" client --listen "$ROUTER_LAN_IP:4433" \
        --server "$VPS_IP:$PORTSET" --hop-interval "$1" --metrics 127.0.0.1:9101 \
        >"$WORK/porthop-client-$1.log" 2>&1 &
    CLIENT_PID=$!
    PIDS+=("$CLIENT_PID")
    wait_until 10 "porthop client relay listening" udp_listening "$NS_ROUTER" 4433 ||
        fail "porthop client relay did not start (hop interval $1)"
}

# 1. direct: throttled after its first megabyte
download direct "$VPS_IP" "$DIRECT_CAP"
D_MBPS=$QUIC_MBPS
[[ $HANDSHAKES -eq 1 ]] || fail "direct: expected 1 QUIC handshake, server saw $HANDSHAKES"
[[ $THROTTLED -ge 1 ]] || fail "direct: the ISP did not throttle the flow (throttled=$THROTTLED)"
[[ $QUIC_COMPLETE -eq 0 ]] || fail "direct: a throttled $MB MiB download finished within ${DIRECT_CAP}s (${QUIC_MBPS} Mbit/s): the throttler does not work"

# 2. porthop, hopping every 500 ms
ip netns exec "$NS_VPS" "$PORTHOP_BIN" server --listen "0.0.0.0:$PORTSET" \
    --upstream 127.0.0.1:4433 >"$WORK/porthop-server.log" 2>&1 &
PIDS+=($!)
wait_until 10 "porthop server relay listening" udp_listening "$NS_VPS" 20000 ||
    fail "porthop server relay did not start"
start_client_relay "$HOP_FAST"
download porthop "$ROUTER_LAN_IP" "$PORTHOP_CAP"
P_MBPS=$QUIC_MBPS
[[ $QUIC_COMPLETE -eq 1 ]] || fail "porthop: transfer incomplete ($QUIC_BYTES of $QUIC_SIZE bytes in ${PORTHOP_CAP}s, gtlsclient status $QUIC_STATUS)"
[[ $QUIC_SHA_OK -eq 1 ]] || fail "porthop: received file differs from the served one (sha256)"
[[ $HANDSHAKES -eq 1 ]] || fail "porthop: expected one QUIC connection (1 handshake), server saw $HANDSHAKES"
[[ $FLOWS -ge 5 ]] || fail "porthop: crossed only $FLOWS distinct ISP flows (want >= 5): it did not hop"
awk -v p="$P_MBPS" -v d="$D_MBPS" 'BEGIN {exit !(p >= 5 * d)}' ||
    fail "porthop: $P_MBPS Mbit/s is not >= 5x the direct $D_MBPS Mbit/s"
log "porthop_hops_total: $(porthop_metric "$NS_ROUTER" 127.0.0.1:9101 porthop_hops_total || true) (informational)"
log "ok: porthop $P_MBPS Mbit/s vs direct $D_MBPS Mbit/s ($(awk -v p="$P_MBPS" -v d="$D_MBPS" 'BEGIN {printf "%.1f", p / d}')x)"

# 3. porthop without hopping: one long flow, throttled like the direct one
start_client_relay "$HOP_NONE"
download nohop "$ROUTER_LAN_IP" "$DIRECT_CAP"
N_MBPS=$QUIC_MBPS
[[ $HANDSHAKES -eq 1 ]] || fail "no-hop: expected 1 QUIC handshake, server saw $HANDSHAKES"
[[ $FLOWS -eq 1 ]] || fail "no-hop: expected the transfer on 1 ISP flow, saw $FLOWS"
[[ $THROTTLED -ge 1 ]] || fail "no-hop: the ISP did not throttle the flow"
[[ $QUIC_COMPLETE -eq 0 ]] || fail "no-hop: finished within ${DIRECT_CAP}s (${N_MBPS} Mbit/s): not throttled"
awk -v n="$N_MBPS" -v d="$D_MBPS" 'BEGIN {exit !(n <= 2 * d)}' ||
    fail "no-hop: $N_MBPS Mbit/s is far above the direct $D_MBPS Mbit/s: not throttled like it"
log "ok: without hopping $N_MBPS Mbit/s, throttled like direct ($D_MBPS Mbit/s)"

log "PASS in $(( $(date +%s) - t_start ))s"
