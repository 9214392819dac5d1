#!/usr/bin/env bash
# A probe with another key than the server relay's gets nothing back (0
# bytes received) and the server relay counts its requests as auth drops.
set -euo pipefail
. "$(dirname "$0")/lib/probe.sh"

probe_lab_up 0 0
"$PORTHOP_BIN" genkey >"$WORKDIR/other.psk"
chmod 600 "$WORKDIR/other.psk"
AUTH_BEFORE=$(smetric porthop_dropped_packets_total 'reason="auth"')
SENT_BEFORE=$(smetric porthop_bytes_total 'direction="downstream"')
ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" probe --server "$VPS_IP:$PORTSET" --psk-file "$WORKDIR/other.psk" \
    --duration 10s --json >"$WORKDIR/wrong.json" 2>"$WORKDIR/wrong.log" && PROBE_RC=0 || PROBE_RC=$?
AUTH_AFTER=$(smetric porthop_dropped_packets_total 'reason="auth"')
SENT_AFTER=$(smetric porthop_bytes_total 'direction="downstream"')
log "wrong key: exit $PROBE_RC, received $(pj wrong .received_bytes) B; server auth drops $AUTH_BEFORE -> $AUTH_AFTER, downstream bytes $SENT_BEFORE -> $SENT_AFTER"

[[ $PROBE_RC -eq 1 ]] || fail "probe exited $PROBE_RC, not 1 (no answer)"
[[ $(pj wrong .received_bytes) == 0 && $(pj wrong .answered) == false ]] || fail "the probe received an answer"
[[ $SENT_AFTER == "$SENT_BEFORE" ]] || fail "the server relay sent $(( SENT_AFTER - SENT_BEFORE )) bytes"
(( AUTH_AFTER >= AUTH_BEFORE + 10 )) || fail "the server relay counted $(( AUTH_AFTER - AUTH_BEFORE )) auth drops"
ok "nothing sent to the wrong-key probe; $(( AUTH_AFTER - AUTH_BEFORE )) requests dropped as auth"
