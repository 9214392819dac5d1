# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing script
# netns/lib.sh: helpers for scripts that drive a lab made by netns/lab.
# Source it (bash): . netns/lib.sh
#
#   lab_load ID                        read /run/porthop-lab-ID.env (NS_*, *_IP)
#   lab_counter KEY                    one value of `netns/lab counters`
#   quic_prepare DIR MB                cert + key + DIR/htdocs/payload.bin (MB
#                                      random MiB) + its sha256 in QUIC_SHA256
#   quic_server_start NS DIR [PORT]    gtlsserver on '*':PORT (4433) in NS,
#                                      serving DIR/htdocs; waits until it
#                                      listens; TLS secrets go to
#                                      DIR/server-N.keylog (handshake count)
#   quic_server_stop                   stop it (by pid)
#   quic_server_handshakes             handshakes the running server completed
#   quic_download NS HOST PORT DIR CAP [LABEL]
#                                      gtlsclient in NS fetches payload.bin
#                                      over one connection, killed after CAP
#                                      seconds; sets QUIC_BYTES QUIC_SECONDS
#                                      QUIC_MBPS QUIC_COMPLETE(0/1)
#                                      QUIC_SHA_OK(0/1) QUIC_STATUS; shows
#                                      progress on stderr when QUIC_PROGRESS=1
#   quic_fresh_download NS HOST CAP LABEL [PORT]
#                                      a fresh QUIC server (quic_server_start
#                                      in $NS_VPS, $QUIC_DIR), the lab's
#                                      counters reset, one quic_download from
#                                      HOST:PORT (4433), the
#                                      server stopped (it would keep pushing
#                                      into an abandoned flow); sets QUIC_*,
#                                      HANDSHAKES FLOWS THROTTLED BLACKHOLED
#
# The generic helpers (wait_until SECONDS CMD..., udp_listening NS PORT,
# porthop_metric NS ADDR:PORT NAME, file_size, now_ns, ...) come from
# tests/integration/lib/base.sh, the one definition the tests share.
# Nothing here sleeps to synchronise: every wait polls a condition with a
# deadline.

PORTHOP_NETNS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../tests/integration/lib/base.sh
. "$PORTHOP_NETNS_DIR/../tests/integration/lib/base.sh"
LAB_STATE_DIR="${LAB_STATE_DIR:-/run}"

lab_load() {
    local file="$LAB_STATE_DIR/porthop-lab-$1.env"
    [[ -f "$file" ]] || { echo "no lab state file $file" >&2; return 1; }
    # shellcheck disable=SC1090
    . "$file"
}

lab_counter() {
    "$PORTHOP_NETNS_DIR/lab" --id "$LAB_ID" counters | awk -F= -v k="$1" '$1 == k {print $2}'
}

# ---- QUIC ------------------------------------------------------------------

quic_prepare() {
    local dir="$1" mb="$2"
    mkdir -p "$dir/htdocs"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 30 -subj /CN=porthop-lab \
        >/dev/null 2>&1
    head -c "$(( mb * 1048576 ))" /dev/urandom >"$dir/htdocs/payload.bin"
    QUIC_SIZE=$(( mb * 1048576 ))
    QUIC_SHA256="$(sha256sum "$dir/htdocs/payload.bin" | cut -d' ' -f1)"
    QUIC_DIR="$dir"
}

QUIC_SERVER_PID=""
QUIC_SERVER_SEQ=0
quic_server_start() {
    local ns="$1" dir="$2" port="${3:-4433}"
    QUIC_SERVER_SEQ=$(( QUIC_SERVER_SEQ + 1 ))
    QUIC_KEYLOG="$dir/server-$QUIC_SERVER_SEQ.keylog"
    : >"$QUIC_KEYLOG"
    # GnuTLS writes every handshake's secrets to SSLKEYLOGFILE: one
    # CLIENT_HANDSHAKE_TRAFFIC_SECRET line per completed TLS handshake,
    # which is one per QUIC connection. -q keeps the server fast.
    SSLKEYLOGFILE="$QUIC_KEYLOG" ip netns exec "$ns" \
        gtlsserver -q -d "$dir/htdocs" --timeout=600s '*' "$port" \
        "$dir/key.pem" "$dir/cert.pem" >"$dir/server-$QUIC_SERVER_SEQ.log" 2>&1 &
    QUIC_SERVER_PID=$!
    QUIC_SERVER_NS="$ns"
    wait_until 10 udp_listening "$ns" "$port" ||
        { echo "timed out after 10s waiting for gtlsserver listening on udp $port in $ns" >&2; return 1; }
}

quic_server_stop() {
    if [[ -n "$QUIC_SERVER_PID" ]]; then
        kill "$QUIC_SERVER_PID" 2>/dev/null || true
        wait "$QUIC_SERVER_PID" 2>/dev/null || true
        QUIC_SERVER_PID=""
    fi
}

quic_server_handshakes() {
    awk '$1 == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" {seen[$2] = 1}
         END {n = 0; for (r in seen) n++; print n}' "$QUIC_KEYLOG"
}

quic_progress_line() {   # LABEL FILE T0_NS CAP -> one \r-refreshed line on stderr
    local size elapsed
    size=$(file_size "$2")
    elapsed=$(( ($(now_ns) - $3) / 1000000 ))
    awk -v l="$1" -v s="$size" -v t="$elapsed" -v total="$QUIC_SIZE" -v cap="$4" 'BEGIN {
            bar = ""; n = int(30 * s / total); for (i = 0; i < 30; i++) bar = bar (i < n ? "#" : ".");
            printf "\r  %-8s [%s] %5.1f / %.1f MiB  %5.1fs / %ds  %6.2f Mbit/s ",
                l, bar, s / 1048576, total / 1048576, t / 1000, cap,
                (t > 0 ? s * 8 / t / 1000 : 0) }' >&2
}

quic_download() {
    local ns="$1" host="$2" port="$3" dir="$4" cap="$5" label="${6:-download}"
    local out="$dir/dl-$label"
    rm -rf "$out"
    mkdir -p "$out"
    local url_host="$host"
    [[ "$host" == *:* ]] && url_host="[$host]"
    local t0 t1 pid status=0
    t0=$(now_ns)
    timeout --signal=INT --kill-after=5 "$cap" ip netns exec "$ns" \
        gtlsclient -q --exit-on-all-streams-close --download="$out" --timeout=600s \
        "$host" "$port" "https://$url_host:$port/payload.bin" \
        >"$dir/client-$label.log" 2>&1 &
    pid=$!
    if [[ "${QUIC_PROGRESS:-0}" == 1 ]]; then
        while kill -0 "$pid" 2>/dev/null; do
            quic_progress_line "$label" "$out/payload.bin" "$t0" "$cap"
            # a display refresh, not synchronisation: the loop ends when
            # the client exits (or timeout(1) ends it at the cap)
            sleep 0.25
        done
    fi
    wait "$pid" || status=$?
    t1=$(now_ns)
    if [[ "${QUIC_PROGRESS:-0}" == 1 ]]; then
        quic_progress_line "$label" "$out/payload.bin" "$t0" "$cap"
        echo >&2
    fi
    QUIC_STATUS=$status
    QUIC_BYTES=$(file_size "$out/payload.bin")
    QUIC_SECONDS=$(awk -v d=$(( t1 - t0 )) 'BEGIN {printf "%.2f", d / 1e9}')
    QUIC_MBPS=$(awk -v b="$QUIC_BYTES" -v d=$(( t1 - t0 )) 'BEGIN {printf "%.2f", b * 8 / (d / 1e9) / 1e6}')
    QUIC_COMPLETE=0
    QUIC_SHA_OK=0
    if [[ "$QUIC_BYTES" -eq "$QUIC_SIZE" ]]; then
        QUIC_COMPLETE=1
        [[ "$(sha256sum "$out/payload.bin" | cut -d' ' -f1)" == "$QUIC_SHA256" ]] && QUIC_SHA_OK=1
    fi
    return 0
}

quic_fresh_download() {
    quic_server_start "$NS_VPS" "$QUIC_DIR" 4433
    "$PORTHOP_NETNS_DIR/lab" --id "$LAB_ID" reset-counters
    quic_download "$1" "$2" "${5:-4433}" "$QUIC_DIR" "$3" "$4"
    HANDSHAKES=$(quic_server_handshakes)
    FLOWS=$(lab_counter flows)
    THROTTLED=$(lab_counter throttled)
    BLACKHOLED=$(lab_counter blackholed)
    quic_server_stop
}
