# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# tests/integration/lib/loopback.sh: the loopback topology (no namespaces) for
# tests/integration/test_metrics_*.sh, on top of lib/base.sh. Source it first
# thing; processes started with start_bg are stopped and $WORKDIR is removed
# at exit.
#
#   free_port [N]                  a free port (the first of N consecutive)
#   udp_bound PORT / http_ok ADDR:PORT/PATH
#   start_relays                   udp_echo, a server relay on a 4-port set and
#                                  a client relay, both with --metrics
#   start_traffic SECONDS          datagrams through the client relay

# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
harness_init

# A random port in 20000..59999 that nothing on this host uses (TCP and UDP);
# with N, the first of N consecutive such ports.
port_free() { [[ -z $(ss -Htuan "sport = :$1") ]]; }
free_port() {
    local n=${1:-1} base i
    for _ in $(seq 200); do
        base=$(( 20000 + RANDOM % 40000 ))
        for (( i = 0; i < n; i++ )); do port_free $(( base + i )) || continue 2; done
        echo "$base"
        return 0
    done
    fail "no free port found"
}

udp_bound() { [[ -n $(ss -Hlun "sport = :$1") ]]; }
http_ok() { curl -sf --max-time 1 -o /dev/null "http://$1"; }

# start_relays: echo on loopback, server relay on a 4-port set, client relay,
# both with --metrics. Sets CLIENT_PORT, CLIENT_METRICS, SERVER_METRICS,
# CLIENT_PID, SERVER_PID, ECHO_PID.
start_relays() {
    local echo_port portset_lo
    echo_port=$(free_port)
    portset_lo=$(free_port 4)
    PORTSET="$portset_lo-$(( portset_lo + 3 ))"
    CLIENT_PORT=$(free_port)
    CLIENT_METRICS=127.0.0.1:$(free_port)
    SERVER_METRICS=127.0.0.1:$(free_port)
    if [[ -x $PORTHOP_TOOLS/udp_echo ]]; then
        start_bg udp_echo "$PORTHOP_TOOLS/udp_echo" --listen "127.0.0.1:$echo_port"
    else
        start_bg udp_echo socat UDP4-LISTEN:"$echo_port",bind=127.0.0.1,fork,reuseaddr PIPE
    fi
    ECHO_PID=$LAST_PID
    wait_until 5 udp_bound "$echo_port" || fail "the UDP echo did not bind 127.0.0.1:$echo_port"
    log "porthop server --listen 127.0.0.1:$PORTSET --upstream 127.0.0.1:$echo_port --metrics $SERVER_METRICS"
    start_bg porthop-server "$PORTHOP_BIN" server --listen "127.0.0.1:$PORTSET" --upstream "127.0.0.1:$echo_port" \
        --metrics "$SERVER_METRICS"
    SERVER_PID=$LAST_PID
    log "porthop client --listen 127.0.0.1:$CLIENT_PORT --server 127.0.0.1:$PORTSET --metrics $CLIENT_METRICS --hop-interval 1s"
    start_bg porthop-client "$PORTHOP_BIN" client --listen "127.0.0.1:$CLIENT_PORT" --server "127.0.0.1:$PORTSET" \
        --metrics "$CLIENT_METRICS" --hop-interval 1s
    CLIENT_PID=$LAST_PID
    wait_until 10 http_ok "$SERVER_METRICS/metrics" || fail "the server relay's /metrics did not come up"
    wait_until 10 http_ok "$CLIENT_METRICS/metrics" || fail "the client relay's /metrics did not come up"
}

# start_traffic SECONDS: datagrams through the client relay for about SECONDS
# (udp_exchange if built, else socat). Sets TRAFFIC_PID.
start_traffic() {
    local secs=$1
    if [[ -x $PORTHOP_TOOLS/udp_exchange ]]; then
        start_bg traffic "$PORTHOP_TOOLS/udp_exchange" --target "127.0.0.1:$CLIENT_PORT" --count $(( secs * 500 )) \
            --window 32 --spread "$secs" --timeout $(( secs + 30 ))
    else
        start_bg traffic bash -c "while :; do head -c 1000 /dev/urandom; sleep 0.002; done |
            socat -b 1000 - UDP4:127.0.0.1:$CLIENT_PORT"
    fi
    TRAFFIC_PID=$LAST_PID
}
