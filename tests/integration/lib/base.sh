# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# tests/integration/lib/base.sh: the helpers every integration test shares,
# defined once. The two topologies build on it: lib/pair.sh (three namespaces,
# a relay pair and an echo) and lib/lab.sh (netns/lab's throttling ISP, real
# QUIC); netns/lib.sh (the lab's own helpers, also used by netns/demo) sources
# it too. Sourcing defines functions only; a test calls harness_init (the
# topology libraries do) for the work directory and the exit trap.
#
#   log / check / ok MSG           progress lines, prefixed with TEST_NAME
#   fail MSG                       a FAIL line on stderr, exit 1
#   skip MSG                       a SKIP line, exit 0 (before harness_init)
#   require_commands CMD...        fail unless every CMD is on PATH
#   now_ms / now_ns / secs_to_ms   clocks; secs_to_ms takes fractions
#   wait_until SECONDS CMD...      poll CMD (every 20 ms) until it succeeds;
#                                  status 1 at the deadline (the caller says
#                                  what it waited for: `|| fail ...`)
#   wait_ready SECONDS PID WHAT CMD...
#                                  wait_until that fails at once when PID dies
#   start_bg NAME CMD...           CMD in the background, output in
#                                  $WORKDIR/NAME.log; LAST_PID; stopped at exit
#   stop_process PID [SECONDS]     SIGTERM, SIGKILL after SECONDS (3); reaps it,
#                                  its exit status in STOP_STATUS
#   alive PID / not_running PID    (a zombie counts as not running)
#   on_cleanup FUNC                run FUNC at exit, after the processes of
#                                  start_bg (and any pid in BG_PIDS) are
#                                  stopped (last registered first); HARNESS_RC
#                                  is the test's exit status so far
#   NAMESPACES+=(NS)               network namespaces deleted at exit (after
#                                  the hooks), with anything still in them
#   nsx NS CMD...                  CMD inside network namespace NS
#   udp_listening NS PORT          some socket in NS is bound to UDP PORT
#   udp_listening_count NS LO HI   UDP sockets in NS bound to LO..HI
#   count_ge N CMD...              CMD prints a number >= N
#   file_size FILE                 bytes (0 when missing)
#   median / best RATE...          the middle / highest value (decimals)
#   ratio A B                      A / B, two decimals
#   metric_value NS ADDR:PORT NAME [LABEL]
#                                  first sample of NAME whose labels contain
#                                  LABEL; status 1 (no output) when none
#   metric_equals NS EP NAME LABEL VALUE
#   smetric / cmetric NAME [LABEL] metric_value of the server relay
#                                  ($SERVER_NS, $SERVER_METRICS) / the client
#                                  relay ($CLIENT_NS, $CLIENT_METRICS); empty
#                                  when there is no such sample
#   healthz_ok NS ADDR:PORT        a relay's /healthz answers
#   porthop_metric NS ADDR:PORT NAME
#                                  sum of NAME over its label sets (empty when
#                                  the endpoint does not answer)
#   exchange NS UDP_EXCHANGE_ARGS...
#                                  udp_exchange in NS, its output shown and
#                                  kept in $WORKDIR/exchange.out; its status
#   start_server_relay LISTEN_HOST UPSTREAM [ARGS...]
#                                  porthop server in $SERVER_NS on
#                                  LISTEN_HOST:$PORTSET; ready when every port
#                                  is bound; SERVER_PID, SERVER_LOG
#   start_client_relay LISTEN SERVER_HOST [ARGS...]
#                                  porthop client in $CLIENT_NS on LISTEN to
#                                  SERVER_HOST:$PORTSET; CLIENT_PID, CLIENT_LOG
#
# Environment (ctest sets the first three): PORTHOP_BIN, PORTHOP_TOOLS (udp_echo,
# udp_exchange, ...), PORTHOP_SRC (the repository); PORTHOP_TEST_KEEP=1 keeps
# the work directory. Nothing here sleeps to synchronise: waits poll a
# condition with a deadline.

[[ -n ${PORTHOP_HARNESS_BASE:-} ]] && return 0
PORTHOP_HARNESS_BASE=1

PORTHOP_SRC=${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
PORTHOP_BIN=${PORTHOP_BIN:-$PORTHOP_SRC/build/porthop}
PORTHOP_TOOLS=${PORTHOP_TOOLS:-$(dirname "$PORTHOP_BIN")/tools}
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}

# ---------------------------------------------------------------- messages

log()   { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
check() { printf '[%s] CHECK: %s\n' "$TEST_NAME" "$*"; }
ok()    { printf '[%s]   ok: %s\n' "$TEST_NAME" "$*"; }
fail() {
    HARNESS_FAILED=1
    printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
    exit 1
}

skip() { printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*"; exit 0; }

require_commands() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || fail "missing command $c (make deps)"
    done
}

# ---------------------------------------------------------------- time

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
now_ns() { date +%s%N; }
secs_to_ms() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }'; }

wait_until() {
    local timeout=$1; shift
    local deadline=$(( $(now_ms) + $(secs_to_ms "$timeout") ))
    until "$@" >/dev/null 2>&1; do
        (( $(now_ms) >= deadline )) && return 1
        sleep 0.02   # the poll interval
    done
    return 0
}

# ---------------------------------------------------------------- processes

BG_PIDS=()          # every background process start_bg started
declare -A BG_NAME  # pid -> name (its log is $WORKDIR/<name>.log)
CLEANUP_HOOKS=()
NAMESPACES=()

start_bg() {
    local name=$1; shift
    "$@" >"$WORKDIR/$name.log" 2>&1 &
    LAST_PID=$!
    BG_PIDS+=("$LAST_PID")
    BG_NAME[$LAST_PID]=$name
}

not_running() { ! kill -0 "$1" 2>/dev/null || [[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]; }
alive() { kill -0 "$1" 2>/dev/null && ! not_running "$1"; }

# Not in a subshell: only this shell can wait for its children.
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

wait_ready() {
    local timeout=$1 pid=$2 what=$3; shift 3
    local deadline=$(( $(now_ms) + $(secs_to_ms "$timeout") ))
    until "$@" >/dev/null 2>&1; do
        alive "$pid" || fail "${BG_NAME[$pid]:-process $pid} exited before $what"
        (( $(now_ms) >= deadline )) && fail "timed out after ${timeout}s waiting for $what"
        sleep 0.02   # the poll interval
    done
    return 0
}

on_cleanup() { CLEANUP_HOOKS+=("$1"); }

# ---------------------------------------------------------------- work dir, exit

# harness_init: strict mode, $WORKDIR, and the exit trap that stops every
# process, runs the cleanup hooks, fails the test on any sanitizer report in
# $WORKDIR/*.log (make test SANITIZE=1), shows the logs' tails on failure and
# removes $WORKDIR.
harness_init() {
    set -eEu -o pipefail
    WORKDIR=$(mktemp -d "/tmp/porthop-it-$TEST_NAME.XXXXXX")
    HARNESS_FAILED=0
    HARNESS_T0=$SECONDS
    trap harness_cleanup EXIT
    trap 'exit 130' INT TERM
    trap 'printf "[%s] FAIL: command failed (line %s): %s\n" "$TEST_NAME" "$LINENO" "$BASH_COMMAND" >&2' ERR
}

dump_logs() {
    local f
    for f in "$WORKDIR"/*.log "$WORKDIR"/*.out "$WORKDIR"/*.err; do
        [[ -s $f ]] || continue
        printf '[%s] ---- last lines of %s ----\n' "$TEST_NAME" "$(basename "$f")" >&2
        tail -n 25 "$f" >&2 || true
    done
}

# shellcheck disable=SC2317  # called from the trap
harness_cleanup() {
    local rc=$? pid i reports
    trap - EXIT INT TERM ERR
    set +e
    (( HARNESS_FAILED )) && (( rc == 0 )) && rc=1
    HARNESS_RC=$rc
    for pid in "${BG_PIDS[@]}"; do stop_process "$pid" 2; done
    for (( i = ${#CLEANUP_HOOKS[@]} - 1; i >= 0; i-- )); do "${CLEANUP_HOOKS[i]}"; done
    delete_namespaces
    # A sanitizer build reports into the logs; any report fails the test,
    # even one printed at exit.
    reports=$(grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$WORKDIR"/*.log 2>/dev/null |
        xargs -r -n1 basename | tr '\n' ' ')
    if [[ -n $reports ]]; then
        printf '[%s] FAIL: sanitizer report in %s\n' "$TEST_NAME" "$reports" >&2
        rc=1
    fi
    (( rc != 0 )) && dump_logs
    if [[ ${PORTHOP_TEST_KEEP:-0} == 1 ]]; then log "kept $WORKDIR"; else rm -rf "$WORKDIR"; fi
    if (( rc == 0 )); then
        log "PASS in $(( SECONDS - HARNESS_T0 ))s"
    else
        log "FAILED (exit $rc) after $(( SECONDS - HARNESS_T0 ))s"
    fi
    exit "$rc"
}

delete_namespaces() {
    local ns pid
    for ns in "${NAMESPACES[@]}"; do
        # Anything still running inside our own namespace was started by us.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
}

# ---------------------------------------------------------------- sockets, files

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
udp_listening() { [[ -n $(ip netns exec "$1" ss -Hlun "sport = :$2") ]]; }
udp_listening_count() { ip netns exec "$1" ss -Hlun "sport >= :$2 and sport <= :$3" | wc -l; }
count_ge() { local n; n=$("${@:2}") && (( n >= $1 )); }
file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# median RATE...: the middle value. The lab machines are shared: one run in
# three may be twice as slow as the others for reasons of its own, and the
# median of interleaved runs lets neither side win by such a run.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
# round_ratios "A1 A2 ..." "B1 B2 ...": A_i / B_i of each round, for runs
# that took turns round by round: a slow spell of the shared machine that
# spans a round costs both of its sides, so the round's ratio keeps what the
# case itself costs; the median of these (median) passes over a spell that
# hit one side only.
round_ratios() {
    local -a a b
    read -r -a a <<<"$1"
    read -r -a b <<<"$2"
    (( ${#a[@]} == ${#b[@]} )) || { echo "round_ratios: ${#a[@]} runs against ${#b[@]}" >&2; return 1; }
    local i
    for i in "${!a[@]}"; do ratio "${a[$i]}" "${b[$i]}"; echo; done
}
# best RATE...: the highest (decimals). For runs that take turns with the
# other side's, so a slow spell of the shared machine costs one run of each.
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }

# ---------------------------------------------------------------- metrics

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

metric_equals() { local v; v=$(metric_value "$1" "$2" "$3" "$4") && [[ $v == "$5" ]]; }
smetric() { metric_value "$SERVER_NS" "$SERVER_METRICS" "$@" || true; }
cmetric() { metric_value "$CLIENT_NS" "$CLIENT_METRICS" "$@" || true; }
healthz_ok() { ip netns exec "$1" curl -fsS -m 1 "http://$2/healthz" >/dev/null 2>&1; }

porthop_metric() {
    local body
    body="$(ip netns exec "$1" curl -fsS --max-time 2 "http://$2/metrics" 2>/dev/null)" || return 0
    awk -v m="$3" '$1 == m || index($1, m "{") == 1 {s += $NF; n++} END {if (n) printf "%d\n", s}' <<<"$body"
}

# ---------------------------------------------------------------- traffic, relays

exchange() {
    local ns=$1; shift
    local status=0
    ip netns exec "$ns" "$PORTHOP_TOOLS/udp_exchange" "$@" >"$WORKDIR/exchange.out" 2>&1 || status=$?
    sed "s/^/[$TEST_NAME]     /" "$WORKDIR/exchange.out"
    return "$status"
}

SERVER_SEQ=0
CLIENT_SEQ=0

start_server_relay() {
    local host=$1 upstream=$2; shift 2
    local lo=${PORTSET%%-*} hi=${PORTSET##*-}
    log "starting: porthop server --listen $host:$PORTSET --upstream $upstream $*"
    SERVER_SEQ=$(( SERVER_SEQ + 1 ))
    start_bg "porthop-server-$SERVER_SEQ" ip netns exec "$SERVER_NS" \
        "$PORTHOP_BIN" server --listen "$host:$PORTSET" --upstream "$upstream" "$@"
    SERVER_PID=$LAST_PID
    SERVER_LOG=$WORKDIR/porthop-server-$SERVER_SEQ.log
    wait_ready 10 "$SERVER_PID" "the server relay to bind all $(( hi - lo + 1 )) ports of $PORTSET" \
        count_ge $(( hi - lo + 1 )) udp_listening_count "$SERVER_NS" "$lo" "$hi"
}

start_client_relay() {
    local listen=$1 server=$2; shift 2
    log "starting: porthop client --listen $listen --server $server:$PORTSET $*"
    CLIENT_SEQ=$(( CLIENT_SEQ + 1 ))
    start_bg "porthop-client-$CLIENT_SEQ" ip netns exec "$CLIENT_NS" \
        "$PORTHOP_BIN" client --listen "$listen" --server "$server:$PORTSET" "$@"
    CLIENT_PID=$LAST_PID
    CLIENT_LOG=$WORKDIR/porthop-client-$CLIENT_SEQ.log
    wait_ready 10 "$CLIENT_PID" "the client relay to listen on $listen" udp_listening "$CLIENT_NS" "${listen##*:}"
}
