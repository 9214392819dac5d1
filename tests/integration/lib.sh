# Shared helpers for tests/integration/test_relay_*.sh. Source it first thing:
#
#   . "$(dirname "$0")/lib.sh"
#
# Environment (set by ctest): PORTHOP_BIN (the porthop binary), PORTHOP_TOOLS
# (directory of udp_echo, udp_exchange, udp_send_from), PORTHOP_SRC (repo root).
#
# Topology made by setup_topology, three fresh network namespaces linked only to
# each other with veth pairs (nothing touches the host's own network):
#
#   cli (application + client relay)   mid (router, nft counters)   srv (server relay + echo)
#   c0 10.77.1.2     fd00:77:1::2 ---- m0 10.77.1.1 fd00:77:1::1
#                                      m1 10.77.2.1 fd00:77:2::1 ---- s0 10.77.2.2 fd00:77:2::2
#
# Namespaces are named porthop-{cli,mid,srv}-<random>; every process the test
# starts is stopped and the namespaces are deleted on exit, even on failure.

set -eEu -o pipefail

TEST_NAME=$(basename "$0" .sh)

: "${PORTHOP_BIN:?PORTHOP_BIN must name the porthop binary}"
: "${PORTHOP_TOOLS:?PORTHOP_TOOLS must name the directory of the test tools}"
PORTHOP_SRC=${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

SUFFIX=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
NS_CLI=porthop-cli-$SUFFIX
NS_MID=porthop-mid-$SUFFIX
NS_SRV=porthop-srv-$SUFFIX

CLI_V4=10.77.1.2
MID_CLI_V4=10.77.1.1
MID_SRV_V4=10.77.2.1
SRV_V4=10.77.2.2
CLI_V6=fd00:77:1::2
MID_CLI_V6=fd00:77:1::1
MID_SRV_V6=fd00:77:2::1
SRV_V6=fd00:77:2::2

# Defaults most tests use.
PORTSET=20000-20049
PORTSET_LO=20000
PORTSET_HI=20049
PORTSET_SIZE=50
CLIENT_PORT=5000        # client relay's downstream (listen) port
ECHO_PORT=7000          # upstream echo server's port
CLIENT_METRICS=127.0.0.1:9101   # inside cli
SERVER_METRICS=127.0.0.1:9102   # inside srv

WORKDIR=$(mktemp -d /tmp/porthop-it-"$TEST_NAME".XXXXXX)
BG_PIDS=()          # every background process we started
declare -A BG_NAME  # pid -> name (its log is $WORKDIR/<name>.log)
NAMESPACES=()
FAILED=0

log()  { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
check() { printf '[%s] CHECK: %s\n' "$TEST_NAME" "$*"; }
ok()   { printf '[%s]   ok: %s\n' "$TEST_NAME" "$*"; }
fail() {
    FAILED=1
    printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

secs_to_ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }

# wait_until TIMEOUT_SECONDS CMD...: run CMD every 20 ms until it succeeds;
# returns 1 when the deadline passes first. (Polling, not sleeping.)

wait_until() {
    local timeout=$1; shift
    local deadline=$(( $(now_ms) + $(secs_to_ms "$timeout") ))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        (( $(now_ms) >= deadline )) && return 1
        sleep 0.02
    done
}

# ---------------------------------------------------------------- cleanup

dump_logs() {
    local f
    for f in "$WORKDIR"/*.log; do
        [[ -e $f ]] || continue
        printf '[%s] ---- last lines of %s ----\n' "$TEST_NAME" "$(basename "$f")" >&2
        tail -n 25 "$f" >&2 || true
    done
}

# stop_process PID [TIMEOUT]: SIGTERM, wait up to TIMEOUT seconds (default 3)
# then SIGKILL. Sets STOP_STATUS to its exit status (137 when it had to be
# killed). Not in a subshell: only this shell can wait for its children.
stop_process() {
    local pid=$1 timeout=${2:-3} status=0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        if ! wait_until "$timeout" not_running "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || status=$?
    STOP_STATUS=$status
}

not_running() { ! kill -0 "$1" 2>/dev/null || [[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]; }

cleanup() {
    local rc=$? pid ns
    trap - EXIT INT TERM ERR
    set +e
    if (( rc != 0 )) || (( FAILED )); then dump_logs; fi
    for pid in "${BG_PIDS[@]}"; do
        stop_process "$pid" 2
    done
    # A sanitizer build (make test SANITIZE=1) reports into the logs; any
    # report fails the test, even one printed at exit.
    if grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$WORKDIR"/*.log >/dev/null 2>&1; then
        printf '[%s] FAIL: sanitizer report in %s\n' "$TEST_NAME" \
            "$(grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$WORKDIR"/*.log | xargs -n1 basename | tr '\n' ' ')" >&2
        (( rc == 0 )) && dump_logs
        rc=1
    fi
    for ns in "${NAMESPACES[@]}"; do
        # Anything still running inside our own namespace was started by us.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$WORKDIR"
    if (( rc == 0 )); then
        log "PASS"
    else
        log "FAILED (exit $rc)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'printf "[%s] FAIL: command failed (line %s): %s\n" "$TEST_NAME" "$LINENO" "$BASH_COMMAND" >&2' ERR

# ---------------------------------------------------------------- topology

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

make_ns() {
    ip netns add "$1"
    NAMESPACES+=("$1")
    ip -n "$1" link set lo up
    nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

no_tentative_addresses() { [[ -z $(ip -n "$1" -6 addr show tentative) ]]; }

setup_topology() {
    log "creating namespaces $NS_CLI, $NS_MID, $NS_SRV"
    make_ns "$NS_CLI"
    make_ns "$NS_MID"
    make_ns "$NS_SRV"
    ip -n "$NS_CLI" link add c0 type veth peer name m0 netns "$NS_MID"
    ip -n "$NS_SRV" link add s0 type veth peer name m1 netns "$NS_MID"

    ip -n "$NS_CLI" addr add "$CLI_V4/24" dev c0
    ip -n "$NS_CLI" -6 addr add "$CLI_V6/64" dev c0 nodad
    ip -n "$NS_MID" addr add "$MID_CLI_V4/24" dev m0
    ip -n "$NS_MID" -6 addr add "$MID_CLI_V6/64" dev m0 nodad
    ip -n "$NS_MID" addr add "$MID_SRV_V4/24" dev m1
    ip -n "$NS_MID" -6 addr add "$MID_SRV_V6/64" dev m1 nodad
    ip -n "$NS_SRV" addr add "$SRV_V4/24" dev s0
    ip -n "$NS_SRV" -6 addr add "$SRV_V6/64" dev s0 nodad
    ip -n "$NS_CLI" link set c0 up
    ip -n "$NS_MID" link set m0 up
    ip -n "$NS_MID" link set m1 up
    ip -n "$NS_SRV" link set s0 up
    ip -n "$NS_CLI" route add default via "$MID_CLI_V4"
    ip -n "$NS_CLI" -6 route add default via "$MID_CLI_V6"
    ip -n "$NS_SRV" route add default via "$MID_SRV_V4"
    ip -n "$NS_SRV" -6 route add default via "$MID_SRV_V6"
    nsx "$NS_MID" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

    # Count, in the router, every UDP packet forwarded towards the server side
    # (IPv4 ones also apart) and the set of distinct destination ports used.
    nsx "$NS_MID" nft -f - <<NFT
table inet porthop_mid {
    counter udp_to_srv { }
    counter udp_to_srv_v4 { }
    set dports_to_srv { type inet_service; size 65535; flags dynamic; }
    chain forward {
        type filter hook forward priority 0; policy accept;
        oifname "m1" meta l4proto udp counter name "udp_to_srv"
        oifname "m1" meta nfproto ipv4 meta l4proto udp counter name "udp_to_srv_v4"
        # Ports only from packets that carry a UDP header: not from fragments
        # (an IPv6 datagram of 1453..1472 bytes does not fit a 1500 MTU).
        oifname "m1" ip protocol udp ip frag-off & 0x1fff == 0 add @dports_to_srv { udp dport }
        oifname "m1" ip6 nexthdr udp add @dports_to_srv { udp dport }
    }
}
NFT
    local ns
    for ns in "$NS_CLI" "$NS_MID" "$NS_SRV"; do
        wait_until 5 no_tentative_addresses "$ns" || fail "IPv6 addresses in $ns stay tentative"
    done
}

# Distinct UDP destination ports the router forwarded towards srv, one a line.
mid_dports() {
    nsx "$NS_MID" nft list set inet porthop_mid dports_to_srv |
        awk '/elements = \{/ { on = 1 } on { print } on && /\}/ { exit }' |
        sed 's/elements = //' | grep -oE '[0-9]+' | sort -n | uniq || true
}

# Packets counted by the router's udp_to_srv counter (all UDP towards srv),
# or by the counter named in $1 (udp_to_srv_v4: only the IPv4 ones).
mid_udp_packets() {
    nsx "$NS_MID" nft list counter inet porthop_mid "${1:-udp_to_srv}" | grep -oE 'packets [0-9]+' | grep -oE '[0-9]+'
}

# Bytes (IP packets, headers included) the same counter saw. With UDP GSO a
# run of same-size datagrams crosses the router as one packet, so packets
# undercount datagrams; bytes never undercount payloads.
mid_udp_bytes() {
    nsx "$NS_MID" nft list counter inet porthop_mid "${1:-udp_to_srv}" | grep -oE 'bytes [0-9]+' | grep -oE '[0-9]+'
}

# exchange_payload_bytes COUNT [MIN MAX]: the payload bytes of udp_exchange's
# COUNT datagrams (sizes cycle MIN..MAX, default 1..1472).
exchange_payload_bytes() {
    local count=$1 min=${2:-1} max=${3:-1472}
    awk -v n="$count" -v lo="$min" -v hi="$max" 'BEGIN { for (i = 0; i < n; i++) s += lo + i % (hi - lo + 1); print s }'
}

# ---------------------------------------------------------------- processes

# start_bg NAME NS CMD...: run CMD inside NS in the background, output to
# $WORKDIR/NAME.log; sets LAST_PID. `ip netns exec` execs CMD, so the pid is
# CMD's own.
start_bg() {
    local name=$1 ns=$2; shift 2
    ip netns exec "$ns" "$@" >"$WORKDIR/$name.log" 2>&1 &
    LAST_PID=$!
    BG_PIDS+=("$LAST_PID")
    BG_NAME[$LAST_PID]=$name
}

alive() { kill -0 "$1" 2>/dev/null && ! not_running "$1"; }

# udp_listening NS PORT: some socket in NS is bound to UDP PORT.
udp_listening() { [[ -n $(ip netns exec "$1" ss -Hlun "sport = :$2") ]]; }

# udp_listening_count NS LO HI: how many UDP sockets in NS are bound to LO..HI.
udp_listening_count() { ip netns exec "$1" ss -Hlun "sport >= :$2 and sport <= :$3" | wc -l; }

# wait_ready TIMEOUT PID WHAT CMD...: like wait_until, but fails at once
# (with the process's log) if PID dies meanwhile.
wait_ready() {
    local timeout=$1 pid=$2 what=$3; shift 3
    local deadline=$(( $(now_ms) + $(secs_to_ms "$timeout") ))
    while true; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        alive "$pid" || fail "${BG_NAME[$pid]:-process $pid} exited before $what"
        (( $(now_ms) >= deadline )) && fail "timed out after ${timeout}s waiting for $what"
        sleep 0.02
    done
}

count_ge() { local n; n=$("${@:2}") && (( n >= $1 )); }

# start_echo NS ADDR:PORT -> ECHO_PID, once the socket is bound.
start_echo() {
    local ns=$1 addr=$2
    start_bg "udp_echo" "$ns" "$PORTHOP_TOOLS/udp_echo" --listen "$addr"
    ECHO_PID=$LAST_PID
    wait_ready 5 "$ECHO_PID" "udp_echo to listen on $addr" udp_listening "$ns" "${addr##*:}"
}

# start_server_relay LISTEN_ADDR UPSTREAM [EXTRA ARGS...] -> SERVER_PID
# (listens on LISTEN_ADDR:$PORTSET in srv; ready when all ports are bound).
start_server_relay() {
    local addr=$1 upstream=$2; shift 2
    log "starting: porthop server --listen $addr:$PORTSET --upstream $upstream $*"
    start_bg "porthop-server" "$NS_SRV" "$PORTHOP_BIN" server --listen "$addr:$PORTSET" --upstream "$upstream" "$@"
    SERVER_PID=$LAST_PID
    wait_ready 10 "$SERVER_PID" "the server relay to bind all $PORTSET_SIZE ports of $PORTSET" \
        count_ge "$PORTSET_SIZE" udp_listening_count "$NS_SRV" "$PORTSET_LO" "$PORTSET_HI"
}

# start_client_relay LISTEN SERVER_HOST [EXTRA ARGS...] -> CLIENT_PID
# (listens on LISTEN in cli, talks to SERVER_HOST:$PORTSET).
start_client_relay() {
    local listen=$1 server=$2; shift 2
    log "starting: porthop client --listen $listen --server $server:$PORTSET $*"
    start_bg "porthop-client" "$NS_CLI" "$PORTHOP_BIN" client --listen "$listen" --server "$server:$PORTSET" "$@"
    CLIENT_PID=$LAST_PID
    wait_ready 10 "$CLIENT_PID" "the client relay to listen on $listen" udp_listening "$NS_CLI" "${listen##*:}"
}

# wait_metrics NS ADDR:PORT PID: the /metrics endpoint answers.
metrics_up() { ip netns exec "$1" curl -sf --max-time 1 -o /dev/null "http://$2/metrics"; }
wait_metrics() {
    wait_ready 10 "$3" "the metrics endpoint http://$2/metrics (in ${1%-*})" metrics_up "$1" "$2"
}

# metric_value NS ADDR:PORT NAME [LABEL]: the value of the first sample of NAME
# whose labels contain LABEL (e.g. 'reason="idle"'); prints nothing and returns
# 1 when there is no such sample.
metric_value() {
    local ns=$1 ep=$2 name=$3 label=${4:-}
    ip netns exec "$ns" curl -sf --max-time 2 "http://$ep/metrics" | awk -v n="$name" -v l="$label" '
        /^#/ { next }
        {
            key = $1; labels = ""
            i = index(key, "{")
            if (i > 0) { labels = substr(key, i); key = substr(key, 1, i - 1) }
            if (key == n && (l == "" || index(labels, l) > 0)) { print $2 + 0; found = 1; exit }
        }
        END { exit found ? 0 : 1 }'
}

# metric_equals NS EP NAME LABEL VALUE (for wait_until).
metric_equals() { local v; v=$(metric_value "$1" "$2" "$3" "$4") && [[ $v == "$5" ]]; }

# udp_ports_of_pid NS PID: local ports of every UDP socket PID holds, one a line.
udp_ports_of_pid() {
    ip netns exec "$1" ss -Huanp | { grep -F "pid=$2," || true; } | awk '{ n = split($4, a, ":"); print a[n] }' | sort -n
}
udp_socket_count_of_pid() { udp_ports_of_pid "$1" "$2" | wc -l; }
udp_socket_count_is() { [[ $(udp_socket_count_of_pid "$1" "$2") == "$3" ]]; }

# exchange NS ARGS...: run udp_exchange in NS, output shown and kept in
# $WORKDIR/exchange.out; returns its status.
exchange() {
    local ns=$1; shift
    local status=0
    ip netns exec "$ns" "$PORTHOP_TOOLS/udp_exchange" "$@" >"$WORKDIR/exchange.out" 2>&1 || status=$?
    sed "s/^/[$TEST_NAME]     /" "$WORKDIR/exchange.out"
    return "$status"
}

require_tools() {
    local t
    [[ -x $PORTHOP_BIN ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
    for t in udp_echo udp_exchange udp_send_from; do
        [[ -x $PORTHOP_TOOLS/$t ]] || fail "missing test tool $PORTHOP_TOOLS/$t"
    done
    for t in ip nft ss curl; do
        command -v "$t" >/dev/null || fail "missing command $t"
    done
    (( EUID == 0 )) || fail "integration tests need root (network namespaces)"
}
require_tools
