#!/usr/bin/env bash
# Real QUIC (ngtcp2) across the throttling-ISP lab (netns/lab) through a
# server relay with --workers 2 and a client relay hopping every 500 ms: the
# download is complete and byte-identical over one QUIC connection, crosses
# >= 5 ISP flows, and the server relay opened one session (every hop of it
# reached the same worker). Env: PORTHOP_BIN, PORTHOP_SRC.
set -euo pipefail

NAME=test_workers_quic
PORTHOP_SRC="${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PORTHOP_BIN="${PORTHOP_BIN:-$PORTHOP_SRC/build/porthop}"

log() { printf '[%s] %s\n' "$NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || fail "needs root (network namespaces)"
[[ -x "$PORTHOP_BIN" ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
for tool in gtlsserver gtlsclient openssl nft tc curl; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done

# shellcheck source=/dev/null
. "$PORTHOP_SRC/netns/lib.sh"
LAB="$PORTHOP_SRC/netns/lab"

LAB_ID="w$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export LAB_ID
export LAB_AGE=2s LAB_BYTES=1000000 LAB_SLOW_RATE=500kbit LAB_LINK_RATE=100mbit LAB_QUIET=1
MB=6
CAP=30
PORTSET=20000-20999
SERVER_METRICS=127.0.0.1:9102

WORK="$(mktemp -d /tmp/porthop-it-$NAME.XXXXXX)"
PIDS=()
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
        for f in "$WORK"/porthop-*.log; do
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

ip netns exec "$NS_VPS" "$PORTHOP_BIN" server --listen "0.0.0.0:$PORTSET" --upstream 127.0.0.1:4433 \
    --workers 2 --metrics "$SERVER_METRICS" >"$WORK/porthop-server.log" 2>&1 &
PIDS+=($!)
wait_until 10 "porthop server relay listening" udp_listening "$NS_VPS" 20999 ||
    fail "porthop server relay did not start"
grep -q "2 workers" "$WORK/porthop-server.log" || fail "the server relay did not start 2 workers"
ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" client --listen "$ROUTER_LAN_IP:4433" \
    --server "$VPS_IP:$PORTSET" --hop-interval 500ms >"$WORK/porthop-client.log" 2>&1 &
PIDS+=($!)
wait_until 10 "porthop client relay listening" udp_listening "$NS_ROUTER" 4433 ||
    fail "porthop client relay did not start"

quic_fresh_download "$NS_LAN" "$ROUTER_LAN_IP" "$CAP" workers
log "2 workers: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s, complete=$QUIC_COMPLETE sha256_ok=$QUIC_SHA_OK handshakes=$HANDSHAKES isp_flows=$FLOWS"
[[ $QUIC_COMPLETE -eq 1 ]] || fail "transfer incomplete ($QUIC_BYTES of $QUIC_SIZE bytes in ${CAP}s)"
[[ $QUIC_SHA_OK -eq 1 ]] || fail "received file differs from the served one (sha256)"
[[ $HANDSHAKES -eq 1 ]] || fail "expected one QUIC connection, server saw $HANDSHAKES handshakes"
[[ $FLOWS -ge 5 ]] || fail "crossed only $FLOWS ISP flows (want >= 5): it did not hop"
opened=$(porthop_metric "$NS_VPS" "$SERVER_METRICS" porthop_sessions_opened_total)
[[ $opened == 1 ]] || fail "the server relay opened $opened sessions (want 1: every hop on the same worker)"
log "PASS in $(( $(date +%s) - t_start ))s"
