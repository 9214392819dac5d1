#!/usr/bin/env bash
# Flood: 100k random datagrams of random sizes (0-65507 bytes) on the client
# relay's downstream socket (10.77.1.1:4433), from ~100k distinct
# spoofed-looking LAN sources (10.77.1.0/24, random ports; sent from the lan
# namespace), while a real QUIC download (started before the flood) runs
# through both relays. Asserts: no crash, the relay's RSS stays under
# FLOOD_RSS_LIMIT_MB, the download is complete, byte-identical, on one
# connection, and keeps >= FLOOD_MIN_PERCENT (80) % of the rate of the same
# download without the flood. In plain mode the client relay forwards what
# it accepts to the server relay, so FLOOD_RATE is kept where the forwarded
# flood does not fill the emulated ISP link (FAULT_LINK_RATE) by itself; the
# figures are printed.
#
# Then, while the flood's sessions still fill the table, a NEW QUIC connection
# is tried and its outcome reported (not asserted, see docs/reliability.md).
# shellcheck disable=SC2119  # start_*_relay take optional extra arguments
NAME=test_flood_client
export FAULT_MB="${FAULT_MB:-32}"
# shellcheck source=tests/integration/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"
FLOOD="$PORTHOP_TOOLS/flood_udp"
[[ -x "$FLOOD" ]] || fail "missing $FLOOD (build the test tools)"
FLOOD_COUNT="${FLOOD_COUNT:-100000}"
FLOOD_RATE="${FLOOD_RATE:-12500}"
FLOOD_RSS_LIMIT_MB="${FLOOD_RSS_LIMIT_MB:-200}"
FLOOD_MIN_PERCENT="${FLOOD_MIN_PERCENT:-80}"

fault_lab_up
start_server_relay
start_client_relay

download_start baseline 40
download_wait
assert_download_ok
BASE_MBPS=$QUIC_MBPS

quic_server_stop
quic_server_start "$NS_VPS" "$WORK" 4433   # a fresh server: one handshake to count
rss0=$(proc_rss_kb "$CLIENT_PID")
up0=$(cmetric porthop_bytes_total 'direction="upstream"')
sample_start "$CLIENT_PID" "$WORK/client-samples"
download_start flooded 40
wait_bytes $(( 1 << 20 )) 10
# The attacker is not on the relay's machine: its own CPU cost must not count
# against the relays, so it runs at the lowest priority.
ip netns exec "$NS_LAN" nice -n 19 "$FLOOD" --dst "$ROUTER_LAN_IP" --ports "${FLOOD_PORT:-4433}" --src-net 10.77.1.0/24 \
    --count "$FLOOD_COUNT" --rate "$FLOOD_RATE" >"$WORK/flood.out" 2>&1 &
FLOOD_PID=$!
FAULT_PIDS+=("$FLOOD_PID")
download_wait
wait "$FLOOD_PID" || fail "flood_udp failed: $(cat "$WORK/flood.out")"
sleep 0.5
sample_stop
kill -0 "$CLIENT_PID" || fail "the client relay died under the flood"
log "$(cat "$WORK/flood.out")"
log "client relay: RSS ${rss0} kB before, peak $(peak_rss_kb "$WORK/client-samples") kB; fds peak $(peak_fds "$WORK/client-samples"); sessions now $(cmetric porthop_sessions), opened $(cmetric porthop_sessions_opened_total), session_limit drops $(cmetric porthop_dropped_packets_total 'reason="session_limit"'), rcvbuf_overflow $(cmetric porthop_dropped_packets_total 'reason="rcvbuf_overflow"')"
log "client relay forwarded $(( $(cmetric porthop_bytes_total 'direction="upstream"') - up0 )) B upstream during the flood (legitimate ACKs included); server relay sessions $(smetric porthop_sessions)"
assert_download_ok
log "legitimate rate: $BASE_MBPS Mbit/s alone, $QUIC_MBPS Mbit/s under the flood ($(awk -v a="$QUIC_MBPS" -v b="$BASE_MBPS" 'BEGIN {printf "%.0f", 100 * a / b}') %)"
(( $(peak_rss_kb "$WORK/client-samples") < FLOOD_RSS_LIMIT_MB * 1024 )) ||
    fail "client relay RSS peaked at $(peak_rss_kb "$WORK/client-samples") kB (limit ${FLOOD_RSS_LIMIT_MB} MiB)"
awk -v a="$QUIC_MBPS" -v b="$BASE_MBPS" -v p="$FLOOD_MIN_PERCENT" 'BEGIN {exit !(100 * a >= p * b)}' ||
    fail "the legitimate download fell to $QUIC_MBPS Mbit/s under the flood (< ${FLOOD_MIN_PERCENT}% of $BASE_MBPS)"
ok "no crash, RSS bounded, legitimate rate kept"

# A new connection while the table is full of the flood's sessions.
sessions=$(cmetric porthop_sessions)
limit_before=$(cmetric porthop_dropped_packets_total 'reason="session_limit"')
quic_server_stop
quic_server_start "$NS_VPS" "$WORK" 4433
download_start new-during-flood 12
download_wait
log "a NEW QUIC connection with $sessions sessions in the table: complete=$QUIC_COMPLETE, $QUIC_BYTES B; session_limit drops +$(( $(cmetric porthop_dropped_packets_total 'reason="session_limit"') - limit_before ))"
(( QUIC_COMPLETE == 1 )) || log "KNOWN LIMITATION: the flood's sessions (no reply from upstream, idle-timeout 60 s) fill the table; new legitimate sessions are refused until they expire"
