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
set -euo pipefail

NAME=test_quiche_throttle
PORTHOP_SRC="${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PORTHOP_BIN="${PORTHOP_BIN:-$PORTHOP_SRC/build/porthop}"

log() { printf '[%s] %s\n' "$NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || fail "needs root (network namespaces)"
[[ -x "$PORTHOP_BIN" ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
for tool in node npm openssl nft tc jq; do
    command -v "$tool" >/dev/null || fail "missing $tool (make deps)"
done

# shellcheck source=/dev/null
. "$PORTHOP_SRC/netns/lib.sh"
# shellcheck source=tests/integration/quiche_lib.sh
. "$PORTHOP_SRC/tests/integration/quiche_lib.sh"
LAB="$PORTHOP_SRC/netns/lab"

LAB_ID="q$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export LAB_ID
export LAB_AGE=2s LAB_BYTES=500000 LAB_SLOW_RATE=200kbit LAB_LINK_RATE=50mbit LAB_QUIET=1
DOWNLOAD=$((4 * 1048576))
ECHO=1048576
DIRECT_CAP=12        # seconds; the throttled direct download is cut here
PORTHOP_CAP=60
HOP=(--hop-interval 500ms --hop-bytes 200000)
PORTSET=20000-20999
MIN_SPEEDUP=4

WORK="$(mktemp -d /tmp/porthop-it-$NAME.XXXXXX)"
PIDS=()
# shellcheck disable=SC2317  # called from the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    quiche_server_stop
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$LAB" --id "$LAB_ID" down || true
    if [[ $rc -ne 0 ]]; then
        for f in "$WORK"/*.log "$WORK"/*.out "$WORK"/*.err; do
            [[ -s "$f" ]] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
        done
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$(date +%s)
quiche_setup "$WORK" || fail "cannot set up the quiche peer"
"$LAB" up
lab_load "$LAB_ID"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
    -out "$WORK/cert.pem" -days 30 -subj /CN=porthop-lab >/dev/null 2>&1
log "lab $LAB_ID up; quiche peer ready; ISP: >2s or >500kB -> 200kbit/s"

# transfer LABEL HOST CAP: a fresh quiche server in vps, counters reset, one
# client connection from lan to HOST:4433 (ECHO_BYTES echo after the download).
transfer() {
    local label=$1 host=$2 cap=$3 echo_bytes=${4:-$ECHO}
    quiche_server_start "$NS_VPS" 0.0.0.0:4433 "$WORK/cert.pem" "$WORK/key.pem" "$WORK/quiche-server-$label.log" ||
        fail "$label: the quiche server did not start"
    "$LAB" --id "$LAB_ID" reset-counters
    quiche_client "$NS_LAN" "$host:4433" "$DOWNLOAD" "$echo_bytes" "$cap" "$WORK/client-$label.out"
    CONNECTIONS=$(quiche_connections "$WORK/quiche-server-$label.log")
    PEER=$(awk '/^connection 1 from/ {print $4; exit}' "$WORK/quiche-server-$label.log")
    FLOWS=$(lab_counter flows)
    THROTTLED=$(lab_counter throttled)
    quiche_server_stop
    log "$label: $QUICHE_BYTES B in ${QUICHE_SECONDS}s = $QUICHE_MBPS Mbit/s, complete=$QUICHE_COMPLETE sha256_ok=$QUICHE_SHA_OK echo_ok=$QUICHE_ECHO_OK status=$QUICHE_STATUS connections=$CONNECTIONS (from $PEER) isp_flows=$FLOWS throttled=$THROTTLED"
}

# assert_relayed LABEL: the checks of a transfer through porthop.
assert_relayed() {
    local label=$1
    [[ $QUICHE_STATUS -eq 0 ]] || fail "$label: the quiche client failed (status $QUICHE_STATUS): $(tail -n 3 "$WORK/client-$label.out.err")"
    [[ $QUICHE_COMPLETE -eq 1 ]] || fail "$label: download incomplete ($QUICHE_BYTES of $DOWNLOAD bytes)"
    [[ $QUICHE_SHA_OK -eq 1 ]] || fail "$label: downloaded bytes differ from the served ones (sha256)"
    [[ $QUICHE_ECHO_OK -eq 1 ]] || fail "$label: the $ECHO-byte echo did not come back whole and identical"
    [[ $CONNECTIONS -eq 1 ]] || fail "$label: the quiche server accepted $CONNECTIONS connections, want 1"
    ((FLOWS >= 5)) || fail "$label: crossed only $FLOWS distinct ISP flows (want >= 5): it did not hop"
    awk -v p="$QUICHE_MBPS" -v d="$D_MBPS" -v k="$MIN_SPEEDUP" 'BEGIN {exit !(p >= k * d)}' ||
        fail "$label: $QUICHE_MBPS Mbit/s is not >= ${MIN_SPEEDUP}x the direct $D_MBPS Mbit/s"
    log "ok: $label $QUICHE_MBPS Mbit/s vs direct $D_MBPS Mbit/s ($(awk -v p="$QUICHE_MBPS" -v d="$D_MBPS" 'BEGIN {printf "%.1f", p / d}')x), one connection, every byte verified"
}

stop_relays() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}

# start_relays MODE_ARGS...: a server relay in vps, a client relay in router.
start_relays() {
    ip netns exec "$NS_VPS" "$PORTHOP_BIN" server --listen "0.0.0.0:$PORTSET" --upstream 127.0.0.1:4433 \
        "$@" >"$WORK/porthop-server.log" 2>&1 &
    PIDS+=($!)
    wait_until 10 "porthop server relay listening" udp_listening "$NS_VPS" 20999 || fail "porthop server relay did not start"
    ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" client --listen "$ROUTER_LAN_IP:4433" --server "$VPS_IP:$PORTSET" \
        "${HOP[@]}" --metrics 127.0.0.1:9101 "$@" >"$WORK/porthop-client.log" 2>&1 &
    PIDS+=($!)
    wait_until 10 "porthop client relay listening" udp_listening "$NS_ROUTER" 4433 || fail "porthop client relay did not start"
}

# 1. direct: throttled after its first 500 kB (no echo: the download is cut)
transfer direct "$VPS_IP" "$DIRECT_CAP" 0
D_MBPS=$QUICHE_MBPS
[[ $CONNECTIONS -eq 1 ]] || fail "direct: the quiche server accepted $CONNECTIONS connections, want 1"
[[ $THROTTLED -ge 1 ]] || fail "direct: the ISP did not throttle the flow (throttled=$THROTTLED)"
[[ $QUICHE_STATUS -eq 3 && $QUICHE_COMPLETE -eq 0 ]] ||
    fail "direct: a throttled download finished within ${DIRECT_CAP}s ($QUICHE_MBPS Mbit/s, status $QUICHE_STATUS): the throttler does not work"

# 2. plain mode
start_relays
transfer plain "$ROUTER_LAN_IP" "$PORTHOP_CAP"
log "plain: porthop_hops_total $(porthop_metric "$NS_ROUTER" 127.0.0.1:9101 porthop_hops_total || true)"
assert_relayed plain
stop_relays

# 3. session mode
"$PORTHOP_BIN" genkey >"$WORK/psk"
chmod 600 "$WORK/psk"
start_relays --mode session --psk-file "$WORK/psk"
transfer session "$ROUTER_LAN_IP" "$PORTHOP_CAP"
log "session: porthop_hops_total $(porthop_metric "$NS_ROUTER" 127.0.0.1:9101 porthop_hops_total || true)"
assert_relayed session
stop_relays

log "PASS in $(( $(date +%s) - t_start ))s"
