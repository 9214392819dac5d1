# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# tests/integration/lib/lab.sh: the ISP-lab topology for the tests with real
# QUIC (test_fault_*, test_flood_*, test_adaptive_*, test_probe_*,
# test_*quic*_throttle, test_quiche_throttle, soak_quic.sh), on top of lib/base.sh and netns/lib.sh
# (the lab's own helpers: lab_load, lab_counter, quic_prepare,
# quic_server_start/stop, quic_download, quic_fresh_download). Source it
# first thing:
#
#   . "$(dirname "$0")/lib/lab.sh"
#
# netns/lab's namespaces: lan (QUIC client) - router (client relay) - isp
# (throttler) - vps (server relay, QUIC server). The ISP's settings are
# netns/lab's variables, exported here with these defaults (a test changes
# them before lab_start): LAB_AGE=0 LAB_BYTES=0 (no throttle), LAB_LINK_RATE
# (40mbit), LAB_LOSS (0). QUIC_MB (8): the payload's MiB.
#
#   lab_start                      the lab (torn down at exit)
#   lab_start_quic                 lab_start, the payload, a QUIC server in vps
#   lab_server_relay [ARGS...]     porthop server in vps on 0.0.0.0:$PORTSET
#                                  -> 127.0.0.1:4433, metrics $SERVER_METRICS
#   lab_client_relay [ARGS...]     porthop client in router on
#                                  $ROUTER_LAN_IP:4433 -> vps:$PORTSET,
#                                  --hop-interval $HOP_INTERVAL (1s), metrics
#                                  $CLIENT_METRICS; a running one is stopped
#                                  first
#   lab_download LABEL HOST CAP [PORT]
#                                  quic_fresh_download from lan to HOST:PORT
#                                  (4433)
#                                  (a fresh QUIC server, the ISP's counters
#                                  reset), logged; QUIC_*, HANDSHAKES, FLOWS,
#                                  THROTTLED, BLACKHOLED
#   download_start LABEL CAP       gtlsclient (lan) -> $ROUTER_LAN_IP:4433 in
#                                  the background (netns/lib.sh quic_download)
#   download_bytes                 bytes received so far
#   wait_bytes N SECONDS           until the download has N bytes
#   download_wait                  its end; sets QUIC_* (as quic_download),
#                                  HANDSHAKES
#   assert_download_ok             complete, sha256 ok, one TLS handshake
#   hops REASON                    the client relay's
#                                  porthop_hops_total{reason=REASON}
#   ge A B                         A >= B (decimals)
#   median / best / ratio          (lib/base.sh)
#   proc_rss_kb PID / proc_fds PID / proc_cpu_ticks PID / clk_tck
#   sample_start PID FILE / sample_stop / peak_rss_kb FILE / peak_fds FILE
#
# Env: PORTHOP_BIN, PORTHOP_SRC (ctest sets them), PORTSET (20000-20099).

# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
# shellcheck source=../../../netns/lib.sh
. "$PORTHOP_SRC/netns/lib.sh"
harness_init

(( EUID == 0 )) || fail "needs root (network namespaces)"
[[ -x $PORTHOP_BIN ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
require_commands openssl nft tc curl ss

LAB="$PORTHOP_SRC/netns/lab"
LAB_ID="f$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export LAB_ID LAB_QUIET=1
export LAB_AGE=0 LAB_BYTES=0
export LAB_LINK_RATE="${LAB_LINK_RATE:-40mbit}"
export LAB_LOSS="${LAB_LOSS:-0}"
QUIC_MB="${QUIC_MB:-8}"
PORTSET="${PORTSET:-20000-20099}"
HOP_INTERVAL="${HOP_INTERVAL:-1s}"
SERVER_METRICS=127.0.0.1:9102
CLIENT_METRICS=127.0.0.1:9101
CLIENT_PID=""
SERVER_PID=""
DL_PID=""

# shellcheck disable=SC2317  # called by harness_cleanup
lab_cleanup() {
    [[ -n $DL_PID ]] && kill "$DL_PID" 2>/dev/null && wait "$DL_PID" 2>/dev/null
    quic_server_stop
    "$LAB" --id "$LAB_ID" down >/dev/null 2>&1
}
on_cleanup lab_cleanup

lab_start() {
    "$LAB" up
    lab_load "$LAB_ID"
    SERVER_NS=$NS_VPS
    CLIENT_NS=$NS_ROUTER
    log "lab $LAB_ID up (link $LAB_LINK_RATE, loss ${LAB_LOSS}%, throttle age $LAB_AGE bytes $LAB_BYTES blackhole ${LAB_BLACKHOLE:-0} (0: off))"
}

lab_start_quic() {
    require_commands gtlsserver gtlsclient
    lab_start
    quic_prepare "$WORKDIR" "$QUIC_MB"
    quic_server_start "$NS_VPS" "$WORKDIR" 4433 || fail "the QUIC server did not start"
    log "payload $QUIC_MB MiB, QUIC server in vps"
}

lab_server_relay() {
    start_server_relay 0.0.0.0 127.0.0.1:4433 --metrics "$SERVER_METRICS" "$@"
}

lab_client_relay() {
    [[ -n $CLIENT_PID ]] && stop_process "$CLIENT_PID"
    start_client_relay "$ROUTER_LAN_IP:4433" "$VPS_IP" --hop-interval "$HOP_INTERVAL" --metrics "$CLIENT_METRICS" "$@"
}

# ---------------------------------------------------------------- the download

lab_download() {   # LABEL HOST CAP [PORT]
    require_commands gtlsserver gtlsclient
    quic_fresh_download "$NS_LAN" "$2" "$3" "$1" "${4:-4433}"
    log "$1: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s, complete=$QUIC_COMPLETE sha256_ok=$QUIC_SHA_OK handshakes=$HANDSHAKES isp_flows=$FLOWS throttled=$THROTTLED blackholed=$BLACKHOLED"
}

download_start() {   # LABEL CAP
    DL_LABEL="$1"
    DL_FILE="$WORKDIR/dl-$1/payload.bin"
    rm -f "$WORKDIR/dl.vars"
    (
        quic_download "$NS_LAN" "$ROUTER_LAN_IP" 4433 "$WORKDIR" "$2" "$1"
        declare -p QUIC_BYTES QUIC_SECONDS QUIC_MBPS QUIC_COMPLETE QUIC_SHA_OK QUIC_STATUS | sed "s/^declare /declare -g /" >"$WORKDIR/dl.vars"
    ) &
    DL_PID=$!
}

download_bytes() { file_size "$DL_FILE"; }
has_bytes() { (( $(download_bytes) >= $1 )); }
wait_bytes() {   # N SECONDS
    wait_until "$2" has_bytes "$1" ||
        fail "the download stalled at $(download_bytes) bytes (wanted $1 within $2 s)"
}

download_wait() {
    wait "$DL_PID" || true
    DL_PID=""
    [[ -f "$WORKDIR/dl.vars" ]] || fail "the download helper ended without a result"
    # shellcheck disable=SC1091
    . "$WORKDIR/dl.vars"
    HANDSHAKES=$(quic_server_handshakes)
    log "download $DL_LABEL: $QUIC_BYTES B in ${QUIC_SECONDS}s = $QUIC_MBPS Mbit/s, complete=$QUIC_COMPLETE sha256_ok=$QUIC_SHA_OK handshakes=$HANDSHAKES status=$QUIC_STATUS"
}

assert_download_ok() {
    [[ $QUIC_COMPLETE -eq 1 ]] || fail "transfer incomplete: $QUIC_BYTES of $QUIC_SIZE bytes (gtlsclient status $QUIC_STATUS)"
    [[ $QUIC_SHA_OK -eq 1 ]] || fail "received file differs from the served one (sha256)"
    [[ $HANDSHAKES -eq 1 ]] || fail "expected one QUIC connection (1 TLS handshake), the server saw $HANDSHAKES"
    ok "complete, byte-identical, one QUIC handshake"
}

hops() { cmetric porthop_hops_total "reason=\"$1\""; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }

# ---------------------------------------------------------------- a process's resources

proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }   # utime + stime
clk_tck() { getconf CLK_TCK; }

# sample_start PID FILE: every 0.1 s append "rss_kb fds" of PID to FILE until
# sample_stop; SAMPLER_PID.
sample_start() {
    local pid=$1 file=$2
    : >"$file"
    (
        while kill -0 "$pid" 2>/dev/null; do
            echo "$(proc_rss_kb "$pid") $(proc_fds "$pid")" >>"$file"
            sleep 0.1   # the sampling period
        done
    ) &
    SAMPLER_PID=$!
}
sample_stop() { kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }
peak_rss_kb() { awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}' "$1"; }
peak_fds() { awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$1"; }
