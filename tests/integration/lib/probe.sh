# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# Shared by tests/integration/test_probe_*.sh, on top of lib/lab.sh (the
# lab, the relays, the QUIC download, the metrics): a session-mode server
# relay and `porthop probe` run in the router. Source it first thing:
#
#   . "$(dirname "$0")/lib/probe.sh"
#
#   probe_lab_up AGE BYTES        lab throttling flows older than AGE or past
#                                 BYTES (0: off), link 20mbit, slow class
#                                 200kbit; a key in $WORKDIR/psk; the server
#                                 relay in session mode (lib/lab.sh)
#   run_probe LABEL [ARGS...]     porthop probe --json in the router against
#                                 the server relay for PROBE_DURATION; JSON in
#                                 $WORKDIR/LABEL.json, progress in LABEL.log,
#                                 exit status in PROBE_RC
#   pj LABEL JQ-ARGS...           jq on that JSON (raw output)
#   within VALUE TRUE PCT         VALUE is within PCT% of TRUE
#   quic_direct CAP               the QUIC download lan -> vps directly
#   quic_relayed CAP [ARGS...]    through a session-mode client relay with
#                                 ARGS (set HOP_INTERVAL for --hop-interval)
set -euo pipefail

# 20 Mbit/s carries the probe's three flows (8 + 2 + 8 Mbit/s); a throttled
# flow gets a 100th of it.
LAB_LINK_RATE=20mbit
QUIC_MB=12
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
require_commands jq
export LAB_SLOW_RATE=200kbit
PROBE_DURATION="${PROBE_DURATION:-18s}"

probe_lab_up() {
    export LAB_AGE="$1" LAB_BYTES="$2"
    lab_start_quic
    "$PORTHOP_BIN" genkey >"$WORKDIR/psk"
    chmod 600 "$WORKDIR/psk"
    lab_server_relay --mode session --psk-file "$WORKDIR/psk"
}

run_probe() {
    local label="$1"; shift
    PROBE_RC=0
    ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" probe --server "$VPS_IP:$PORTSET" --psk-file "$WORKDIR/psk" \
        --duration "$PROBE_DURATION" --json "$@" >"$WORKDIR/$label.json" 2>"$WORKDIR/$label.log" || PROBE_RC=$?
    log "probe ($label): exit $PROBE_RC, throttled=$(pj "$label" .throttled) kind=$(pj "$label" .kind)" \
        "onset=$(pj "$label" -c .onset) long=$(pj "$label" .long_rate) throttled_rate=$(pj "$label" .throttled_rate)" \
        "fresh=$(pj "$label" .fresh_rate) B/s recommended=$(pj "$label" -c .recommended)"
}

pj() {
    local label="$1"; shift
    jq -r "$@" "$WORKDIR/$label.json"
}

within() {   # within VALUE TRUE PCT
    awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(d <= t * p / 100) }'
}

quic_direct() {
    quic_download "$NS_LAN" "$VPS_IP" 4433 "$WORKDIR" "$1" direct
    log "direct: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s"
}

quic_relayed() {
    local cap="$1"; shift
    # A fresh QUIC server: its handshake count is this download's alone.
    quic_server_stop
    quic_server_start "$NS_VPS" "$WORKDIR" 4433
    lab_client_relay --mode session --psk-file "$WORKDIR/psk" "$@"
    download_start relayed "$cap"
    download_wait
}

# expect_throttle LABEL KIND ONSET_FIELD TRUE REC_FIELD: the probe found a
# throttle of KIND, its onset .onset.ONSET_FIELD is within 25% of TRUE, and
# it recommends .recommended.REC_FIELD (in REC).
expect_throttle() {
    local label="$1" kind="$2" field="$3" truth="$4" rec="$5" onset
    [[ $PROBE_RC -eq 0 ]] || fail "probe exited $PROBE_RC"
    [[ $(pj "$label" .throttled) == true ]] || fail "no throttling detected"
    [[ $(pj "$label" .kind) == "$kind" ]] || fail "throttle classified as $(pj "$label" .kind), not $kind"
    onset=$(pj "$label" ".onset.$field")
    within "$onset" "$truth" 25 || fail "onset $field $onset, not within 25% of $truth"
    REC=$(pj "$label" ".recommended.$rec")
    [[ $REC != null ]] || fail "no $rec recommended"
    ok "$kind throttle found, onset $field $onset (true $truth), recommended $rec $REC"
}

# expect_speedup DIRECT_MBPS WHAT: the last download reached 5x DIRECT_MBPS.
expect_speedup() {
    assert_download_ok
    awk -v p="$QUIC_MBPS" -v d="$1" 'BEGIN { exit !(p >= 5 * d) }' ||
        fail "with $2: $QUIC_MBPS Mbit/s is not >= 5x the direct $1 Mbit/s"
    ok "with $2: $QUIC_MBPS Mbit/s vs direct $1 Mbit/s ($(awk -v p="$QUIC_MBPS" -v d="$1" 'BEGIN {printf "%.1f", p / d}')x)"
}
