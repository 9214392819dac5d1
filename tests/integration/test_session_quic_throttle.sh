#!/usr/bin/env bash
# Session mode with real QUIC (ngtcp2 gtlsclient -> gtlsserver) across the
# throttling-ISP lab (netns/lab), the client relay behind a NAT of its own:
# its upstream traffic leaves the router masqueraded to ports 40000-44999.
# A third of the way through the download the NAT is rebound: the range
# becomes 50000-54999 and the router's conntrack table is flushed, so every
# mapping the session uses changes under it (docs/protocol.md, "Roaming").
#
# Asserts: the download is complete and byte-identical, on one QUIC
# connection (one TLS handshake), the ISP saw >= 5 distinct flows with
# >= 5 distinct source ports and >= 5 distinct destination ports, flows from
# the new NAT range carried traffic, and the relays counted no auth or
# replay drops. Env: PORTHOP_BIN (binary), PORTHOP_SRC (repo root).
set -euo pipefail

NAME=test_session_quic_throttle
PORTHOP_SRC="${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PORTHOP_BIN="${PORTHOP_BIN:-$PORTHOP_SRC/build/porthop}"

log() { printf '[%s] %s\n' "$NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || fail "needs root (network namespaces)"
[[ -x "$PORTHOP_BIN" ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
for tool in gtlsserver gtlsclient openssl nft tc conntrack; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done

# shellcheck source=/dev/null
. "$PORTHOP_SRC/netns/lib.sh"
LAB="$PORTHOP_SRC/netns/lab"

LAB_ID="t$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export LAB_ID
export LAB_AGE=2s LAB_BYTES=1000000 LAB_SLOW_RATE=500kbit LAB_LINK_RATE=100mbit LAB_QUIET=1
MB=6
CAP=40
HOP=500ms
PORTSET=20000-20999

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
        for f in "$WORK"/porthop-*.log "$WORK"/client-*.log "$WORK"/rebind.log; do
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

# The relay's own upstream traffic behind a NAT (the router is its own home
# router here).
nat_range() {
    ip netns exec "$NS_ROUTER" nft -f - <<EOF
table ip porthop_relay_nat
delete table ip porthop_relay_nat
table ip porthop_relay_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "r-wan" udp dport 20000-20999 masquerade to :$1
  }
}
EOF
}
nat_range 40000-44999

"$PORTHOP_BIN" genkey >"$WORK/psk"
chmod 600 "$WORK/psk"
ip netns exec "$NS_VPS" "$PORTHOP_BIN" server --listen "0.0.0.0:$PORTSET" --upstream 127.0.0.1:4433 \
    --mode session --psk-file "$WORK/psk" --metrics 127.0.0.1:9102 >"$WORK/porthop-server.log" 2>&1 &
PIDS+=($!)
wait_until 10 "porthop server relay listening" udp_listening "$NS_VPS" 20999 || fail "porthop server relay did not start"
ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" client --listen "$ROUTER_LAN_IP:4433" --server "$VPS_IP:$PORTSET" \
    --mode session --psk-file "$WORK/psk" --hop-interval "$HOP" --metrics 127.0.0.1:9101 \
    >"$WORK/porthop-client.log" 2>&1 &
PIDS+=($!)
wait_until 10 "porthop client relay listening" udp_listening "$NS_ROUTER" 4433 || fail "porthop client relay did not start"

quic_server_start "$NS_VPS" "$WORK" 4433
"$LAB" reset-counters

# A third of the way through, rebind the NAT (new range, mappings flushed).
(
    target=$(( QUIC_SIZE / 3 ))
    deadline=$(( $(date +%s) + CAP ))
    while (( $(file_size "$WORK/dl-session/payload.bin") < target )); do
        (( $(date +%s) < deadline )) || { echo "download never reached $target bytes"; exit 1; }
        sleep 0.05
    done
    nat_range 50000-54999
    ip netns exec "$NS_ROUTER" conntrack -F 2>&1
    echo "rebound at $(file_size "$WORK/dl-session/payload.bin") bytes"
) >"$WORK/rebind.log" 2>&1 &
REBIND_PID=$!
PIDS+=("$REBIND_PID")

quic_download "$NS_LAN" "$ROUTER_LAN_IP" 4433 "$WORK" "$CAP" session
HANDSHAKES=$(quic_server_handshakes)
FLOWS=$(lab_counter flows)
wait "$REBIND_PID" || fail "NAT rebinding: $(cat "$WORK/rebind.log")"
log "session: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s, complete=$QUIC_COMPLETE sha256_ok=$QUIC_SHA_OK handshakes=$HANDSHAKES isp_flows=$FLOWS; $(tr '\n' ' ' <"$WORK/rebind.log")"

# Distinct source and destination ports of the flows the ISP saw.
ip netns exec "$NS_ISP" nft list set inet porthop_isp flows4 |
    grep -oE '[0-9.]+ \. [0-9]+ \. [0-9.]+ \. [0-9]+' | awk '{print $3, $7}' | sort -u >"$WORK/flows"
SPORTS=$(awk '{print $1}' "$WORK/flows" | sort -u | wc -l)
DPORTS=$(awk '{print $2}' "$WORK/flows" | sort -u | wc -l)
NEW_RANGE=$(awk '$1 >= 50000 && $1 <= 54999' "$WORK/flows" | wc -l)
OLD_RANGE=$(awk '$1 >= 40000 && $1 <= 44999' "$WORK/flows" | wc -l)
drops() {   # drops NS ADDR:PORT REASON
    ip netns exec "$1" curl -fsS --max-time 2 "http://$2/metrics" |
        awk -v r="reason=\"$3\"" '$1 ~ /^porthop_dropped_packets_total/ && index($1, r) {print $2}'
}
sdrop() { drops "$NS_VPS" 127.0.0.1:9102 "$1"; }
cdrop() { drops "$NS_ROUTER" 127.0.0.1:9101 "$1"; }
log "ISP flows: $SPORTS source ports, $DPORTS destination ports; $OLD_RANGE flows from the first NAT range, $NEW_RANGE from the second"
log "server drops: auth $(sdrop auth) replay $(sdrop replay) oversize $(sdrop oversize); client drops: auth $(cdrop auth) replay $(cdrop replay) oversize $(cdrop oversize); hops $(porthop_metric "$NS_ROUTER" 127.0.0.1:9101 porthop_hops_total)"

[[ $QUIC_COMPLETE -eq 1 ]] || fail "transfer incomplete ($QUIC_BYTES of $QUIC_SIZE bytes in ${CAP}s, gtlsclient status $QUIC_STATUS)"
[[ $QUIC_SHA_OK -eq 1 ]] || fail "received file differs from the served one (sha256)"
[[ $HANDSHAKES -eq 1 ]] || fail "expected one QUIC connection (1 handshake), server saw $HANDSHAKES"
(( FLOWS >= 5 )) || fail "crossed only $FLOWS distinct ISP flows (want >= 5): it did not hop"
(( SPORTS >= 5 )) || fail "the ISP saw only $SPORTS distinct source ports (want >= 5): the source port does not hop"
(( DPORTS >= 5 )) || fail "the ISP saw only $DPORTS distinct destination ports (want >= 5)"
(( OLD_RANGE >= 1 && NEW_RANGE >= 1 )) || fail "the NAT rebinding did not show at the ISP ($OLD_RANGE flows before, $NEW_RANGE after)"
[[ $(sdrop auth) == 0 && $(sdrop replay) == 0 ]] || fail "the server relay rejected datagrams of the legitimate session"
log "PASS in $(( $(date +%s) - t_start ))s"
