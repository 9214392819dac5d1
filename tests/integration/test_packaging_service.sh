#!/usr/bin/env bash
# What the systemd units rely on, without systemd (src/service/):
#   - Type=notify: with NOTIFY_SOCKET set, the relay sends READY=1 (with a
#     STATUS= line) once it is up, WATCHDOG=1 every half WATCHDOG_USEC while
#     healthy, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on
#     SIGTERM, and exits 0;
#   - SIGHUP (ExecReload=, procd's reload_signal): a new log level applies
#     without dropping the session (same session keeps echoing, no new one
#     opened); a new listen address is refused with a log line naming it and
#     the old configuration kept; an invalid file is refused, the relay keeps
#     running; a hop-interval change is applied without dropping the session.
# Runs PORTHOP_SERVICE_BIN (default PORTHOP_BIN) in a private network
# namespace. Skipped, saying so, when the binary has no SIGHUP handling
# (main.cpp not wired to src/service yet).
set -eEu -o pipefail

SRC=${PORTHOP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
: "${PORTHOP_BIN:=$SRC/build/porthop}"
BIN=${PORTHOP_SERVICE_BIN:-$PORTHOP_BIN}

. "$(dirname "$0")/lib/base.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces)"
grep -aq 'SIGHUP: re-read' "$BIN" ||
    skip "$BIN has no SIGHUP handling: main.cpp is not wired to src/service yet"
require_commands socat curl jq

harness_init
NS=porthop-svc-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')

# Occurrences, not lines: datagrams are appended without separators.
count() { grep -ao -- "$1" "$2" | wc -l; }

ip netns add "$NS"
NAMESPACES+=("$NS")
ip -n "$NS" link set lo up
ip netns exec "$NS" socat UDP4-RECVFROM:17003,bind=127.0.0.1,fork EXEC:cat >"$WORKDIR/echo.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$NS" "$BIN" server --listen 127.0.0.1:23000-23009 --upstream 127.0.0.1:17003 >"$WORKDIR/server.log" 2>&1 &
BG_PIDS+=($!)

# systemd's side of sd_notify: a datagram socket; every message appended.
ip netns exec "$NS" socat -u UNIX-RECV:"$WORKDIR/notify.sock" OPEN:"$WORKDIR/notify.log",creat,append &
BG_PIDS+=($!)
wait_until 5 test -S "$WORKDIR/notify.sock" || fail "notify socket not created"

cat >"$WORKDIR/client.json" <<'EOF'
{"listen": "127.0.0.1:14437", "server": "127.0.0.1:23000-23009", "hop-interval": "1s",
 "log-level": "info", "metrics": "127.0.0.1:9131"}
EOF
# WATCHDOG_PID must be the relay's own pid, as systemd sets it.
# shellcheck disable=SC2016 # expanded by sh
ip netns exec "$NS" env NOTIFY_SOCKET="$WORKDIR/notify.sock" WATCHDOG_USEC=400000 \
    sh -c 'WATCHDOG_PID=$$ exec "$0" "$@"' "$BIN" client --config "$WORKDIR/client.json" >"$WORKDIR/client.log" 2>&1 &
client_pid=$!
BG_PIDS+=("$client_pid")

wait_until 10 grep -q 'READY=1' "$WORKDIR/notify.log" || fail "no READY=1 on NOTIFY_SOCKET"
grep -q 'STATUS=client relay' "$WORKDIR/notify.log" || fail "READY=1 came without STATUS=client relay...: $(cat "$WORKDIR/notify.log")"
ok "READY=1 with $(grep -a -m1 STATUS= "$WORKDIR/notify.log")"
# Pings every 200 ms: three must arrive within 1.2 s of READY (polled).
three_pings() { (($(count 'WATCHDOG=1' "$WORKDIR/notify.log") >= 3)); }
t0=$(date +%s%N)
wait_until 1.2 three_pings ||
    fail "$(count 'WATCHDOG=1' "$WORKDIR/notify.log") WATCHDOG=1 in 1.2 s with WATCHDOG_USEC=400000 (a ping every 200 ms)"
ok "3 watchdog pings in $(( ($(date +%s%N) - t0) / 1000000 )) ms (WATCHDOG_USEC=400000)"

session_echo() {  # TAG: one datagram of the test's one session (fixed source port)
    local reply
    reply=$(echo "$1" | ip netns exec "$NS" socat -T 2 - UDP4:127.0.0.1:14437,sourceport=15557,reuseaddr) || true
    [[ "$reply" == "$1" ]] || fail "echo '$1' through the relays: got '$reply'"
}
opened() {
    ip netns exec "$NS" curl -fsS -m 2 http://127.0.0.1:9131/metrics |
        awk '/^porthop_sessions_opened_total/ { n += $2 } END { print n + 0 }'
}
client_alive() { kill -0 "$client_pid" 2>/dev/null || fail "the client relay died: $(tail -n 5 "$WORKDIR/client.log")"; }
hup() {  # sends SIGHUP and waits for the reload's READY=1
    local before
    before=$(count 'READY=1' "$WORKDIR/notify.log")
    kill -HUP "$client_pid"
    more_ready() { (( $(count 'READY=1' "$WORKDIR/notify.log") > before )); }
    wait_until 5 more_ready || fail "no READY=1 after SIGHUP"
    client_alive
}

session_echo before-reload
[[ $(opened) == 1 ]] || fail "sessions opened before the reloads: $(opened), want 1"

# 1. log level: applies, session kept.
jq '."log-level" = "debug"' "$WORKDIR/client.json" >"$WORKDIR/c.new" && mv "$WORKDIR/c.new" "$WORKDIR/client.json"
hup
grep -q 'SIGHUP: log-level info -> debug' "$WORKDIR/client.log" || fail "log-level change not logged"
(( $(count 'RELOADING=1' "$WORKDIR/notify.log") >= 1 )) || fail "no RELOADING=1 on SIGHUP"
session_echo after-log-level
[[ $(opened) == 1 ]] || fail "the reload dropped the session (sessions opened: $(opened))"
ok "SIGHUP log-level info -> debug applied, RELOADING=1/READY=1 sent, session kept"

# 2. listen: refused, old config kept.
jq '.listen = "127.0.0.1:14438"' "$WORKDIR/client.json" >"$WORKDIR/c.new" && mv "$WORKDIR/c.new" "$WORKDIR/client.json"
hup
grep -q 'SIGHUP: listen cannot change without a restart (127.0.0.1:14437 -> 127.0.0.1:14438)' "$WORKDIR/client.log" ||
    fail "a listen change was not refused by name"
grep -q 'running configuration kept' "$WORKDIR/client.log" || fail "refusal does not say the configuration is kept"
session_echo after-listen-refused
ok "SIGHUP with a new listen: refused by name, old config kept, still relaying"

# 3. invalid file: refused.
echo '{"listen": ' >"$WORKDIR/client.json"
hup
grep -q 'SIGHUP: --config .*invalid JSON.*running configuration kept' "$WORKDIR/client.log" || fail "invalid config not reported"
session_echo after-invalid
ok "SIGHUP with invalid JSON: reported, relay keeps running"

# 4. hop-interval: applied at run time, the session kept.
cat >"$WORKDIR/client.json" <<'EOF'
{"listen": "127.0.0.1:14437", "server": "127.0.0.1:23000-23009", "hop-interval": "3s",
 "log-level": "debug", "metrics": "127.0.0.1:9131"}
EOF
hup
if grep -q 'SIGHUP: hop-interval 1s -> 3s' "$WORKDIR/client.log"; then
    ok "SIGHUP hop-interval 1s -> 3s applied"
else
    fail "hop-interval change not applied: $(grep SIGHUP "$WORKDIR/client.log" | tail -2)"
fi
session_echo after-hop-interval
[[ $(opened) == 1 ]] || fail "sessions opened after the reloads: $(opened), want 1"

kill -TERM "$client_pid"
wait "$client_pid" || fail "client relay: exit status $? on SIGTERM"
wait_until 2 grep -q 'STOPPING=1' "$WORKDIR/notify.log" || fail "no STOPPING=1 on SIGTERM"
ok "SIGTERM: STOPPING=1, exit 0"
