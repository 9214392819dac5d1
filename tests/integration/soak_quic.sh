#!/usr/bin/env bash
# soak_quic.sh (make soak; not part of make test): real QUIC downloads in a
# loop for SOAK_MINUTES (10) through both relays in the lab, the client relay
# hopping every second, the ISP throttling flows older than 2 s or past 1 MB.
# Once a minute it prints each relay's RSS, open descriptors and sessions;
# at the end, first and last figures. Fails if a download is incomplete or
# corrupt, a relay dies, or a relay's RSS or descriptor count at the end is
# above its first sample by more than SOAK_RSS_SLACK_KB (4096) /
# SOAK_FD_SLACK (8).
export QUIC_MB="${QUIC_MB:-8}"
export LAB_LINK_RATE="${LAB_LINK_RATE:-100mbit}"
export HOP_INTERVAL="${HOP_INTERVAL:-1s}"
. "$(dirname "$0")/lib/lab.sh"
export LAB_AGE=2s LAB_BYTES=1000000
MINUTES="${SOAK_MINUTES:-10}"
RSS_SLACK_KB="${SOAK_RSS_SLACK_KB:-4096}"
FD_SLACK="${SOAK_FD_SLACK:-8}"

lab_start_quic
lab_server_relay --idle-timeout 5s
lab_client_relay --idle-timeout 5s

soak_row() {   # LABEL: one line of figures for both relays
    printf '[%s] %-8s client rss %6s kB fds %4s sessions %3s | server rss %6s kB fds %4s sessions %3s | downloads %d ok, %d MiB\n' \
        "$TEST_NAME" "$1" "$(proc_rss_kb "$CLIENT_PID")" "$(proc_fds "$CLIENT_PID")" "$(cmetric porthop_sessions)" \
        "$(proc_rss_kb "$SERVER_PID")" "$(proc_fds "$SERVER_PID")" "$(smetric porthop_sessions)" "$DOWNLOADS" \
        $(( DOWNLOADS * QUIC_MB ))
}

DOWNLOADS=0
t_end=$(( $(date +%s) + MINUTES * 60 ))
next_report=$(( $(date +%s) + 60 ))
minute=0
soak_row start
c_rss0=$(proc_rss_kb "$CLIENT_PID"); c_fd0=$(proc_fds "$CLIENT_PID")
s_rss0=$(proc_rss_kb "$SERVER_PID"); s_fd0=$(proc_fds "$SERVER_PID")
first_taken=0
while (( $(date +%s) < t_end )); do
    quic_server_stop
    quic_server_start "$NS_VPS" "$WORKDIR" 4433
    download_start soak 60
    download_wait
    assert_download_ok >/dev/null
    DOWNLOADS=$(( DOWNLOADS + 1 ))
    kill -0 "$CLIENT_PID" || fail "the client relay died"
    kill -0 "$SERVER_PID" || fail "the server relay died"
    if (( first_taken == 0 )); then
        # The first figures after one full download: buffers and lazy
        # allocations exist now; from here on nothing may grow.
        c_rss0=$(proc_rss_kb "$CLIENT_PID"); c_fd0=$(proc_fds "$CLIENT_PID")
        s_rss0=$(proc_rss_kb "$SERVER_PID"); s_fd0=$(proc_fds "$SERVER_PID")
        first_taken=1
    fi
    if (( $(date +%s) >= next_report )); then
        minute=$(( minute + 1 ))
        soak_row "min $minute"
        next_report=$(( next_report + 60 ))
    fi
done
# The idle sweep closes the last sessions (idle-timeout 5 s): poll for it.
sessions_closed() { (( $(cmetric porthop_sessions) == 0 && $(smetric porthop_sessions) == 0 )); }
wait_until 15 sessions_closed ||
    fail "sessions still open 15 s after the last download: client $(cmetric porthop_sessions), server $(smetric porthop_sessions)"
soak_row end
c_rss1=$(proc_rss_kb "$CLIENT_PID"); c_fd1=$(proc_fds "$CLIENT_PID")
s_rss1=$(proc_rss_kb "$SERVER_PID"); s_fd1=$(proc_fds "$SERVER_PID")
log "client relay RSS ${c_rss0} -> ${c_rss1} kB, fds ${c_fd0} -> ${c_fd1}; server relay RSS ${s_rss0} -> ${s_rss1} kB, fds ${s_fd0} -> ${s_fd1}; hops $(cmetric porthop_hops_total); $DOWNLOADS downloads of $QUIC_MB MiB, all complete and byte-identical"
(( c_rss1 <= c_rss0 + RSS_SLACK_KB )) || fail "client relay RSS grew from $c_rss0 to $c_rss1 kB"
(( s_rss1 <= s_rss0 + RSS_SLACK_KB )) || fail "server relay RSS grew from $s_rss0 to $s_rss1 kB"
(( c_fd1 <= c_fd0 + FD_SLACK )) || fail "client relay descriptors grew from $c_fd0 to $c_fd1"
(( s_fd1 <= s_fd0 + FD_SLACK )) || fail "server relay descriptors grew from $s_fd0 to $s_fd1"
[[ $(cmetric porthop_sessions) == 0 && $(smetric porthop_sessions) == 0 ]] ||
    fail "sessions left open after the idle timeout: client $(cmetric porthop_sessions), server $(smetric porthop_sessions)"
ok "RSS, descriptors and sessions flat"
