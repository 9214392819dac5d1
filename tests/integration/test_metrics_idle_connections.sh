#!/usr/bin/env bash
# A hostile scraper holds 200 idle TCP connections open against the client
# relay's metrics endpoint: datagrams still flow through both relays intact,
# /metrics and /healthz still answer, and the relay's open descriptors stay
# bounded (the endpoint keeps at most its connection cap, closing the oldest).
. "$(dirname "$0")/lib/loopback.sh"

IDLE=200
[[ -x $PORTHOP_TOOLS/udp_exchange ]] || fail "missing $PORTHOP_TOOLS/udp_exchange"

start_relays
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fds_before=$(fds_of "$CLIENT_PID")

check "$IDLE idle connections to http://$CLIENT_METRICS"
host=${CLIENT_METRICS%:*} port=${CLIENT_METRICS##*:}
idle_fds=()
for (( i = 0; i < IDLE; i++ )); do
    exec {fd}<>"/dev/tcp/$host/$port" || fail "connection $i to $CLIENT_METRICS failed"
    idle_fds+=("$fd")
done
ok "$IDLE connections opened"

check "datagrams still flow through both relays while the connections are held"
"$PORTHOP_TOOLS/udp_exchange" --target "127.0.0.1:$CLIENT_PORT" --count 2000 --window 32 --spread 2 --timeout 20 \
    >"$WORKDIR/exchange.out" 2>&1 || { cat "$WORKDIR/exchange.out" >&2; fail "the echo roundtrip failed"; }
sed "s/^/[$TEST_NAME]     /" "$WORKDIR/exchange.out"
ok "2000 datagrams back"

check "/metrics and /healthz still answer"
code=$(curl -s --max-time 3 -o "$WORKDIR/metrics.txt" -w '%{http_code}' "http://$CLIENT_METRICS/metrics") || true
[[ $code == 200 ]] || fail "/metrics answered '$code' with $IDLE idle connections held"
code=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$CLIENT_METRICS/healthz") || true
[[ $code == 200 ]] || fail "/healthz answered '$code' with $IDLE idle connections held"
ok "both 200"

check "the client relay's descriptors stay bounded (at most the endpoint's cap of 32 more)"
fds_during=$(fds_of "$CLIENT_PID")
log "client relay descriptors: $fds_before before, $fds_during with $IDLE idle connections"
(( fds_during <= fds_before + 32 + 2 )) || fail "the client relay holds $fds_during descriptors ($fds_before before)"
ok "bounded"
for fd in "${idle_fds[@]}"; do exec {fd}>&-; done
alive "$CLIENT_PID" || fail "the client relay exited"
