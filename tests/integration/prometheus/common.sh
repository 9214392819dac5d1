# Helpers for tests/integration/test_metrics_*.sh (loopback only, no
# namespaces). Source it first thing; it sets a trap that stops every process
# started with start_bg and removes $WORKDIR.
set -eEu -o pipefail

TEST_NAME=$(basename "$0" .sh)
: "${PORTHOP_BIN:?PORTHOP_BIN must name the porthop binary}"
PORTHOP_SRC=${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
PORTHOP_TOOLS=${PORTHOP_TOOLS:-$(dirname "$PORTHOP_BIN")/tools}

WORKDIR=$(mktemp -d /tmp/porthop-"$TEST_NAME".XXXXXX)
BG_PIDS=()
declare -A BG_NAME

log()  { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
check() { printf '[%s] CHECK: %s\n' "$TEST_NAME" "$*"; }
ok()   { printf '[%s]   ok: %s\n' "$TEST_NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_until SECONDS CMD...: run CMD every 50 ms until it succeeds; 1 at the deadline.
wait_until() {
    local deadline=$(( $(now_ms) + $1 * 1000 )); shift
    until "$@" >/dev/null 2>&1; do
        (( $(now_ms) >= deadline )) && return 1
        sleep 0.05
    done
}

# start_bg NAME CMD...: CMD in the background, output in $WORKDIR/NAME.log.
start_bg() {
    local name=$1; shift
    "$@" >"$WORKDIR/$name.log" 2>&1 &
    LAST_PID=$!
    BG_PIDS+=("$LAST_PID")
    BG_NAME[$LAST_PID]=$name
}

alive() { kill -0 "$1" 2>/dev/null; }

cleanup() {
    local rc=$? pid f
    trap - EXIT INT TERM
    set +e
    for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${BG_PIDS[@]}"; do
        wait_until 3 eval "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if (( rc != 0 )); then
        for f in "$WORKDIR"/*.log; do
            [[ -e $f ]] || continue
            printf '[%s] ---- last lines of %s ----\n' "$TEST_NAME" "$(basename "$f")" >&2
            tail -n 20 "$f" >&2
        done
    fi
    rm -rf "$WORKDIR"
    if (( rc == 0 )); then log "PASS"; else log "FAILED (exit $rc)"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
