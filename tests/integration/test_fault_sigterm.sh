#!/usr/bin/env bash
# Fault: SIGTERM to each relay in the middle of a real QUIC download. Each
# exits with status 0 within 1 s and logs that it closed its sessions
# ("stopping: N sessions closed", N >= 1: the shutdown path counts them with
# reason="shutdown"). The download itself cannot survive its relay's exit.
. "$(dirname "$0")/lib/lab.sh"

# term_relay PID LOG WHAT: SIGTERM, exit status and time, the shutdown log line.
term_relay() {
    local pid=$1 logf=$2 what=$3 status=0 t0 ms
    t0=$(now_ns)
    kill -TERM "$pid"
    wait_until 1 not_running "$pid" || fail "$what still runs 1 s after SIGTERM"
    wait "$pid" || status=$?
    ms=$(( ($(now_ns) - t0) / 1000000 ))
    [[ $status -eq 0 ]] || fail "$what exited with status $status after SIGTERM"
    (( ms <= 1000 )) || fail "$what took ${ms} ms to exit"
    grep -qE 'stopping: [1-9][0-9]* sessions closed' "$logf" ||
        fail "$what did not log its sessions closed: $(grep -i stop "$logf" || echo 'no stopping line')"
    ok "$what: exit 0 in ${ms} ms; $(grep -oE 'stopping: [0-9]+ sessions closed' "$logf")"
}

lab_start_quic
lab_server_relay
lab_client_relay
download_start sigterm 30
wait_bytes $(( 1 << 20 )) 15
log "server sessions $(smetric porthop_sessions), client sessions $(cmetric porthop_sessions) at $(download_bytes) bytes"
term_relay "$SERVER_PID" "$SERVER_LOG" "server relay"
term_relay "$CLIENT_PID" "$CLIENT_LOG" "client relay"
kill "$DL_PID" 2>/dev/null || true
