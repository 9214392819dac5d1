#!/usr/bin/env bash
# Real QUIC (ngtcp2) across the throttling-ISP lab (netns/lab) through a
# server relay with --workers 2 and a client relay hopping every 500 ms: the
# download is complete and byte-identical over one QUIC connection, crosses
# >= 5 ISP flows, and the server relay opened one session (every hop of it
# reached the same worker).
export LAB_LINK_RATE=100mbit QUIC_MB=6 PORTSET=20000-20999 HOP_INTERVAL=500ms
. "$(dirname "$0")/lib/lab.sh"
export LAB_AGE=2s LAB_BYTES=1000000 LAB_SLOW_RATE=500kbit
CAP=30

require_commands gtlsserver gtlsclient
lab_start
quic_prepare "$WORKDIR" "$QUIC_MB"
log "ISP: flows older than 2 s or past 1 MB -> 500 kbit/s"
lab_server_relay --workers 2
wait_until 5 grep -q "2 workers" "$SERVER_LOG" || fail "the server relay did not start 2 workers"
lab_client_relay

check "a $QUIC_MB MiB QUIC download through a 2-worker server relay: complete, one connection, >= 5 ISP flows, one session"
lab_download workers "$ROUTER_LAN_IP" "$CAP"
assert_download_ok
(( FLOWS >= 5 )) || fail "crossed only $FLOWS ISP flows (want >= 5): it did not hop"
opened=$(smetric porthop_sessions_opened_total)
[[ $opened == 1 ]] || fail "the server relay opened $opened sessions (want 1: every hop on the same worker)"
ok "$QUIC_MBPS Mbit/s over $FLOWS ISP flows, one session on the server relay"
