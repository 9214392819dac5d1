#!/usr/bin/env bash
# Issue 9 in session mode: every UDP flow is dropped once it is 1 s old (a
# blocked port; porthop is not told). With --hop-interval 60s --hop-on-stall
# 500ms --hop-on-slowdown and both relays in session mode, a 20 MiB QUIC
# download completes on one QUIC connection, carried by stall hops (each
# also moves the session's source port and sends a keepalive, so the server
# relay follows at once). The plain-mode test (test_adaptive_blackhole.sh)
# compares with direct and a fixed interval; here the ISP must have blocked a
# flow, or the test proves nothing.
set -euo pipefail
# shellcheck disable=SC2034  # read by lib/adaptive.sh
ISP_BLACKHOLE=1s
. "$(dirname "$0")/lib/adaptive.sh"

QUIC_MB=20 lab_start_quic
quic_server_stop   # the download below gets a fresh server
(umask 077; "$PORTHOP_BIN" genkey >"$WORKDIR/psk")
SESSION=(--mode session --psk-file "$WORKDIR/psk")
lab_server_relay "${SESSION[@]}"
lab_client_relay "${SESSION[@]}" "${ADAPTIVE[@]}"
lab_download adaptive "$ROUTER_LAN_IP" 30
log "adaptive hops: $(hops_line)"
assert_download_ok
[[ $BLACKHOLED -ge 1 ]] || fail "the ISP blackholed no flow (blackholed=$BLACKHOLED): the download was too short to prove anything"
n="$(hops stall)"
[[ -n "$n" && "$n" -ge 1 ]] || fail "no stall hop (hops: $(hops_line))"
[[ "$(hops interval)" == 0 ]] || fail "an interval hop happened; the 60 s interval must never fire here"
ok "session mode: $QUIC_MBPS Mbit/s through $BLACKHOLED blackholed flow(s), hops $(hops_line)"
