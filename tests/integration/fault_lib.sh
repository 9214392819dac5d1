# shellcheck shell=bash
# Shared by tests/integration/test_fault_*.sh, test_flood_*.sh and soak_quic.sh:
# the throttling-ISP lab (netns/lab) with a porthop relay pair and a real
# QUIC server, and a QUIC download that runs in the background while a test
# does something nasty to the path. Source it after setting NAME:
#
#   NAME=test_fault_x; . "$(dirname "$0")/fault_lib.sh"
#
#   fault_lab_up                      lab (no throttle; link FAULT_LINK_RATE,
#                                     loss LAB_LOSS), payload FAULT_MB MiB,
#                                     QUIC server in vps
#   start_server_relay [ARGS...]      porthop server in vps on 0.0.0.0:$PORTSET
#                                     -> 127.0.0.1:4433, metrics 127.0.0.1:9102;
#                                     SERVER_PID, log $WORK/server-N.log
#   start_client_relay [ARGS...]      porthop client in router on
#                                     10.77.1.1:4433 -> vps:$PORTSET, hop 1s,
#                                     metrics 127.0.0.1:9101; CLIENT_PID
#   download_start LABEL CAP          gtlsclient (lan) -> 10.77.1.1:4433 in the
#                                     background (netns/lib.sh quic_download)
#   download_bytes                    bytes received so far
#   wait_bytes N SECONDS              until the download has N bytes
#   download_wait                     its end; sets QUIC_* (as quic_download)
#   assert_download_ok                complete, sha256 ok, one TLS handshake
#   smetric NAME [LABEL] / cmetric    a sample of the server/client relay's
#                                     /metrics (empty when unreachable)
#   proc_rss_kb PID / proc_fds PID / proc_cpu_ticks PID
#
# Env: PORTHOP_BIN, PORTHOP_SRC (ctest sets them), FAULT_MB (8),
# FAULT_LINK_RATE (40mbit), LAB_LOSS (0), PORTSET (20000-20099), FAULT_KEEP=1
# keeps the work directory (logs).
set -euo pipefail

PORTHOP_SRC="${PORTHOP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
PORTHOP_BIN="${PORTHOP_BIN:-$PORTHOP_SRC/build/porthop}"
PORTHOP_TOOLS="${PORTHOP_TOOLS:-$(dirname "$PORTHOP_BIN")/tools}"
: "${NAME:?set NAME before sourcing fault_lib.sh}"

log() { printf '[%s] %s\n' "$NAME" "$*"; }
ok() { printf '[%s]   ok: %s\n' "$NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$NAME" "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || fail "needs root (network namespaces)"
[[ -x "$PORTHOP_BIN" ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
for tool in gtlsserver gtlsclient openssl nft tc curl ss; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done

# shellcheck source=/dev/null
. "$PORTHOP_SRC/netns/lib.sh"
LAB="$PORTHOP_SRC/netns/lab"

LAB_ID="f$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export LAB_ID LAB_QUIET=1
export LAB_AGE=0 LAB_BYTES=0
export LAB_LINK_RATE="${FAULT_LINK_RATE:-40mbit}"
export LAB_LOSS="${LAB_LOSS:-0}"
FAULT_MB="${FAULT_MB:-8}"
PORTSET="${PORTSET:-20000-20099}"
SERVER_METRICS=127.0.0.1:9102
CLIENT_METRICS=127.0.0.1:9101

WORK="$(mktemp -d "/tmp/porthop-it-$NAME.XXXXXX")"
FAULT_PIDS=()
SERVER_PID=""
CLIENT_PID=""
DL_PID=""
SERVER_SEQ=0
CLIENT_SEQ=0
T_START=$(date +%s)

# shellcheck disable=SC2317  # called from the trap
fault_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    local pid
    [[ -n "$DL_PID" ]] && kill "$DL_PID" 2>/dev/null
    for pid in "${FAULT_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    quic_server_stop
    for pid in "${FAULT_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    [[ -n "$DL_PID" ]] && wait "$DL_PID" 2>/dev/null
    "$LAB" --id "$LAB_ID" down >/dev/null 2>&1
    if grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$WORK"/*.log >/dev/null 2>&1; then
        printf '[%s] FAIL: sanitizer report in %s\n' "$NAME" "$(grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$WORK"/*.log | tr '\n' ' ')" >&2
        rc=1
    fi
    if [[ $rc -ne 0 ]]; then
        local f
        for f in "$WORK"/*.log; do
            [[ -s "$f" ]] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }
        done
        log "FAILED (exit $rc) after $(( $(date +%s) - T_START ))s"
    else
        log "PASS in $(( $(date +%s) - T_START ))s"
    fi
    if [[ "${FAULT_KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap fault_cleanup EXIT
trap 'exit 130' INT TERM

fault_lab_up() {
    "$LAB" up
    lab_load "$LAB_ID"
    quic_prepare "$WORK" "$FAULT_MB"
    quic_server_start "$NS_VPS" "$WORK" 4433
    log "lab $LAB_ID up (link $LAB_LINK_RATE, loss ${LAB_LOSS}%, throttle age $LAB_AGE bytes $LAB_BYTES (0: off)); payload $FAULT_MB MiB"
}

start_server_relay() {
    SERVER_SEQ=$(( SERVER_SEQ + 1 ))
    SERVER_LOG="$WORK/relay-server-$SERVER_SEQ.log"
    ip netns exec "$NS_VPS" "$PORTHOP_BIN" server --listen "0.0.0.0:$PORTSET" --upstream 127.0.0.1:4433 \
        --metrics "$SERVER_METRICS" "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    FAULT_PIDS+=("$SERVER_PID")
    wait_until 10 "porthop server relay listening" udp_listening "$NS_VPS" "${PORTSET%%-*}" ||
        fail "porthop server relay did not start"
}

start_client_relay() {
    CLIENT_SEQ=$(( CLIENT_SEQ + 1 ))
    CLIENT_LOG="$WORK/relay-client-$CLIENT_SEQ.log"
    ip netns exec "$NS_ROUTER" "$PORTHOP_BIN" client --listen "$ROUTER_LAN_IP:4433" \
        --server "$VPS_IP:$PORTSET" --hop-interval "${HOP_INTERVAL:-1s}" --metrics "$CLIENT_METRICS" "$@" \
        >"$CLIENT_LOG" 2>&1 &
    CLIENT_PID=$!
    FAULT_PIDS+=("$CLIENT_PID")
    wait_until 10 "porthop client relay listening" udp_listening "$NS_ROUTER" 4433 ||
        fail "porthop client relay did not start"
}

download_start() {   # LABEL CAP
    DL_LABEL="$1"
    DL_FILE="$WORK/dl-$1/payload.bin"
    rm -f "$WORK/dl.vars"
    (
        quic_download "$NS_LAN" "$ROUTER_LAN_IP" 4433 "$WORK" "$2" "$1"
        declare -p QUIC_BYTES QUIC_SECONDS QUIC_MBPS QUIC_COMPLETE QUIC_SHA_OK QUIC_STATUS | sed "s/^declare /declare -g /" >"$WORK/dl.vars"
    ) &
    DL_PID=$!
}

download_bytes() { file_size "$DL_FILE"; }
has_bytes() { (( $(download_bytes) >= $1 )); }
wait_bytes() {   # N SECONDS
    wait_until "$2" "the download to pass $1 bytes" has_bytes "$1" ||
        fail "the download stalled at $(download_bytes) bytes (wanted $1)"
}

download_wait() {
    wait "$DL_PID" || true
    DL_PID=""
    [[ -f "$WORK/dl.vars" ]] || fail "the download helper ended without a result"
    # shellcheck disable=SC1091
    . "$WORK/dl.vars"
    HANDSHAKES=$(quic_server_handshakes)
    log "download $DL_LABEL: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s, complete=$QUIC_COMPLETE sha256_ok=$QUIC_SHA_OK handshakes=$HANDSHAKES status=$QUIC_STATUS"
}

assert_download_ok() {
    [[ $QUIC_COMPLETE -eq 1 ]] || fail "transfer incomplete: $QUIC_BYTES of $QUIC_SIZE bytes (gtlsclient status $QUIC_STATUS)"
    [[ $QUIC_SHA_OK -eq 1 ]] || fail "received file differs from the served one (sha256)"
    [[ $HANDSHAKES -eq 1 ]] || fail "expected one QUIC connection (1 TLS handshake), the server saw $HANDSHAKES"
    ok "complete, byte-identical, one QUIC handshake"
}

# metric NS EP NAME [LABEL]: the first sample of NAME whose labels contain LABEL.
metric() {
    ip netns exec "$1" curl -fsS --max-time 2 "http://$2/metrics" 2>/dev/null | awk -v n="$3" -v l="${4:-}" '
        /^#/ { next }
        { key = $1; labels = ""; i = index(key, "{")
          if (i > 0) { labels = substr(key, i); key = substr(key, 1, i - 1) }
          if (key == n && (l == "" || index(labels, l) > 0)) { print $2 + 0; exit } }'
}
smetric() { metric "$NS_VPS" "$SERVER_METRICS" "$@"; }
cmetric() { metric "$NS_ROUTER" "$CLIENT_METRICS" "$@"; }

proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }   # utime + stime
clk_tck() { getconf CLK_TCK; }

# ---- sampling (flood tests, soak) --------------------------------------------

# sample_start PID FILE: every 0.1 s append "rss_kb fds" of PID to FILE until
# sample_stop; SAMPLER_PID.
sample_start() {
    local pid=$1 file=$2
    : >"$file"
    (
        while kill -0 "$pid" 2>/dev/null; do
            echo "$(proc_rss_kb "$pid") $(proc_fds "$pid")" >>"$file"
            sleep 0.1
        done
    ) &
    SAMPLER_PID=$!
}
sample_stop() { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }
peak_rss_kb() { awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$1"; }
peak_fds() { awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$1"; }
