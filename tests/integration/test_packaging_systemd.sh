#!/usr/bin/env bash
# The .deb's units under a real systemd: a Debian 12 minbase root (no procps,
# as in minimal and container images) booted with systemd-nspawn in a network
# namespace of its own, the package installed with dpkg -i, one server and one
# client instance started with systemctl. Checks, as a new user would see it:
#   - systemctl start returns with both units active (Type=notify: systemd had
#     READY=1) and a STATUS= line shown;
#   - /healthz answers; datagrams echo through client unit -> server unit ->
#     a UDP echo, across hops;
#   - each unit writes its state file (StateDirectory=porthop, shared by
#     every instance: one dynamic user) and, after systemctl restart, takes
#     the session back (the same session echoes on): the server unit, then
#     the client unit;
#   - systemctl reload works without procps (no /bin/kill in the root): same
#     main PID, the relay logs the SIGHUP re-read;
#   - a stopped (SIGSTOP) relay is killed by the watchdog and restarted, and
#     relays again;
#   - systemctl stop: both exit 0; no sandbox error (EPERM, seccomp,
#     permission denied) in the units' journal;
#   - dpkg -P removes the state directory.
# The root is built once per machine (debootstrap, about 2 minutes, 300 MB)
# in PORTHOP_SYSTEMD_ROOT (default /var/cache/porthop-test/bookworm-systemd)
# and booted with --volatile=overlay: every run starts from the same clean
# root, and nothing a run writes stays. The container is stopped on any exit.
set -eEu -o pipefail

SRC=${PORTHOP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
: "${PORTHOP_BIN:=$SRC/build/porthop}"
ROOT=${PORTHOP_SYSTEMD_ROOT:-/var/cache/porthop-test/bookworm-systemd}

. "$(dirname "$0")/lib/base.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, systemd-nspawn)"
command -v dpkg-deb >/dev/null || skip "not a Debian system (no dpkg-deb)"
require_commands debootstrap systemd-nspawn nsenter socat curl jq flock

. "$(dirname "$0")/lib/systemd_root.sh"
. "$(dirname "$0")/lib/echo_hop.sh"

harness_init
ID=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
NS=porthop-sd-$ID
NSPAWN_PID=""
CPID=""

# shellcheck disable=SC2317  # called by harness_cleanup
container_cleanup() {
    if ((HARNESS_RC != 0)) && [[ -n "$CPID" ]]; then
        echo "--- journal of the porthop units (last lines)"
        cin journalctl --no-pager -n 60 -u 'porthop-*' 2>&1
        cin systemctl --no-pager --failed 2>&1
    fi
    ip netns del "$NS" 2>/dev/null
    if [[ -n "$NSPAWN_PID" ]]; then
        # SIGTERM: nspawn asks the container's systemd to power off.
        kill -TERM "$NSPAWN_PID" 2>/dev/null
        wait_until 20 not_running "$NSPAWN_PID" || kill -KILL "$NSPAWN_PID" 2>/dev/null
        wait "$NSPAWN_PID" 2>/dev/null
    fi
}
on_cleanup container_cleanup

cin() { nsenter -t "$CPID" -a "$@"; }               # a command inside the container
prop() { cin systemctl show -P "$2" "$1"; }          # prop UNIT PROPERTY
journal() { cin journalctl --no-pager -o cat -u "$1"; }
echo_once() {  # echo_once SOURCE_PORT TAG: one datagram through the client unit
    local reply
    reply=$(echo "$2" | ip netns exec "$NS" socat -T 2 - "UDP4:127.0.0.1:14433,sourceport=$1,reuseaddr") || true
    [[ "$reply" == "$2" ]]
}


# --- the package and the root ---------------------------------------------------
if [[ -n "${PORTHOP_DEB:-}" ]]; then
    cp "$PORTHOP_DEB" "$WORKDIR/"
else
    bash "$SRC/packaging/deb/build-deb.sh" --binary "$PORTHOP_BIN" --out "$WORKDIR" >"$WORKDIR/build-deb.log"
fi
deb=$(ls "$WORKDIR"/porthop_*.deb)
mapfile -t depends < <(deb_depends "$deb")
t_root=$(date +%s)
ensure_systemd_root "$ROOT" "${depends[@]}" || fail "cannot make the Debian 12 root in $ROOT"
ok "root $ROOT ready in $(( $(date +%s) - t_root )) s (holds ${depends[*]})"
[[ ! -e "$ROOT/bin/kill" && ! -e "$ROOT/usr/bin/kill" ]] ||
    fail "$ROOT has /bin/kill (procps): the reload check would not prove anything"

# --- boot ------------------------------------------------------------------------------
mkdir "$WORKDIR/share"
cp "$deb" "$WORKDIR/share/porthop.deb"
systemd-nspawn -q -b --register=no --keep-unit --volatile=overlay --private-network \
    -D "$ROOT" -M "porthop-$ID" --bind-ro="$WORKDIR/share:/porthop-test" \
    </dev/null >"$WORKDIR/nspawn.log" 2>&1 &
NSPAWN_PID=$!
init_pid() {  # the container's PID 1 (a child of nspawn running systemd)
    local p
    for p in $(pgrep -P "$NSPAWN_PID"); do
        [[ $(cat "/proc/$p/comm" 2>/dev/null) == systemd ]] && { CPID=$p; return 0; }
    done
    return 1
}
wait_until 20 init_pid || fail "systemd-nspawn did not start the container's systemd"
booted() { [[ $(cin systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; }
wait_until 60 booted || fail "the container did not finish booting: $(cin systemctl is-system-running 2>&1)"
ok "container booted ($(cin systemctl is-system-running 2>&1); systemd $(cin systemctl --version | awk 'NR == 1 {print $2}'))"
ip netns attach "$NS" "$CPID"
ip -n "$NS" link set lo up

cin dpkg -i /porthop-test/porthop.deb >"$WORKDIR/dpkg.log" 2>&1 || fail "dpkg -i in the container: $(tail -n 5 "$WORKDIR/dpkg.log")"
ok "dpkg -i porthop in the container"

# --- one server and one client instance -------------------------------------------------
SRV=porthop-server@lab-server.service
CLI=porthop-client@lab-client.service
# The installed examples; only the addresses (and a fast hop) change.
cin cat /usr/share/doc/porthop/examples/server.json |
    jq '.listen = "127.0.0.1:20000-20009" | .upstream = "127.0.0.1:17000"' | cin sh -c 'cat >/etc/porthop/lab-server.json'
cin cat /usr/share/doc/porthop/examples/client.json |
    jq '.listen = "127.0.0.1:14433" | .server = "127.0.0.1:20000-20009" | ."hop-interval" = "1s" | ."hop-jitter" = "200ms"' |
    cin sh -c 'cat >/etc/porthop/lab-client.json'
ip netns exec "$NS" socat UDP4-RECVFROM:17000,bind=127.0.0.1,fork EXEC:cat >"$WORKDIR/echo.log" 2>&1 &
BG_PIDS+=($!)

timeout 60 nsenter -t "$CPID" -a systemctl start "$SRV" "$CLI" ||
    fail "systemctl start $SRV $CLI failed"
for unit in "$SRV" "$CLI"; do
    state="$(prop "$unit" ActiveState)/$(prop "$unit" SubState)"
    [[ $state == active/running ]] || fail "$unit is $state after systemctl start, want active/running"
    status=$(prop "$unit" StatusText)
    [[ -n "$status" ]] || fail "$unit: no STATUS= from the relay (sd_notify not reaching systemd?)"
    ok "$unit: active/running after start (READY=1), status \"$status\""
done
wait_until 10 healthz_ok "$NS" 127.0.0.1:9101 || fail "client unit: /healthz on :9101 does not answer"
wait_until 10 healthz_ok "$NS" 127.0.0.1:9102 || fail "server unit: /healthz on :9102 does not answer"
ok "/healthz answers on both units"

echo_until_hop "$NS" 14433 15555 127.0.0.1:9101 porthop-systemd 20
ok "$ECHOES echoes through the client and server units, $HOPS hops on the way"

# --- the state file across a restart of the server unit -----------------------------------
state_saved() { cin cat /var/lib/porthop/lab-server.state | grep -q '127.0.0.1'; }
wait_until 10 state_saved || fail "the server unit wrote no session to /var/lib/porthop/lab-server.state"
ok "state file /var/lib/porthop/lab-server.state holds the session (uid $(cin stat -c '%u, mode %a' /var/lib/private/porthop/lab-server.state))"
srv_pid=$(prop "$SRV" MainPID)
timeout 30 nsenter -t "$CPID" -a systemctl restart "$SRV" || fail "systemctl restart $SRV failed"
[[ $(prop "$SRV" MainPID) != "$srv_pid" ]] || fail "systemctl restart $SRV: same main PID"
journal "$SRV" | grep -q 'restored 1 sessions from /var/lib/porthop/lab-server.state' ||
    fail "the restarted server unit did not take the session back from its state file"
echo_once 15555 after-restart || fail "the session does not echo after the server unit's restart"
ok "restarted server unit restored the session from its state file; it echoes on"

# --- the state file across a restart of the client unit -----------------------------------
CLI_STATE=/var/lib/porthop/client-lab-client.state
client_state_saved() { cin cat "$CLI_STATE" | grep -q '127.0.0.1'; }
wait_until 10 client_state_saved || fail "the client unit wrote no session to $CLI_STATE (beside the server unit's file)"
cli_pid=$(prop "$CLI" MainPID)
timeout 30 nsenter -t "$CPID" -a systemctl restart "$CLI" || fail "systemctl restart $CLI failed"
[[ $(prop "$CLI" MainPID) != "$cli_pid" ]] || fail "systemctl restart $CLI: same main PID"
journal "$CLI" | grep -q "restored 1 sessions from $CLI_STATE" ||
    fail "the restarted client unit did not take the session back from its state file"
echo_once 15555 after-client-restart || fail "the session does not echo after the client unit's restart"
ok "restarted client unit restored the session from $CLI_STATE; it echoes on"

# --- reload without procps --------------------------------------------------------------------
cli_pid=$(prop "$CLI" MainPID)
reloads_before=$(journal "$CLI" | grep -c 'SIGHUP: re-read' || true)
timeout 30 nsenter -t "$CPID" -a systemctl reload "$CLI" >"$WORKDIR/reload.log" 2>&1 ||
    fail "systemctl reload $CLI: $(cat "$WORKDIR/reload.log"; journal "$CLI" | tail -n 3)"
[[ $(prop "$CLI" MainPID) == "$cli_pid" ]] || fail "systemctl reload $CLI replaced the process"
reloaded() { (( $(journal "$CLI" | grep -c 'SIGHUP: re-read' || true) > reloads_before )); }
wait_until 10 reloaded || fail "systemctl reload $CLI: the relay did not log a SIGHUP re-read"
echo_once 15555 after-reload || fail "the session does not echo after systemctl reload"
ok "systemctl reload $CLI: same PID $cli_pid, configuration re-read, still echoing (no /bin/kill in the root)"

# --- the watchdog ------------------------------------------------------------------------------
t_stop=$(date +%s)
cin systemctl kill --kill-whom=main --signal=SIGSTOP "$CLI"
restarted() { local p; p=$(prop "$CLI" MainPID); [[ $p != 0 && $p != "$cli_pid" && $(prop "$CLI" ActiveState) == active ]]; }
wait_until 40 restarted || fail "$CLI stopped with SIGSTOP was not restarted within 40 s (WatchdogSec=10s)"
journal "$CLI" | grep -q 'Watchdog timeout' || fail "$CLI was restarted, but not by the watchdog"
[[ $(prop "$CLI" NRestarts) -ge 1 ]] || fail "$CLI: NRestarts is $(prop "$CLI" NRestarts)"
wait_until 10 healthz_ok "$NS" 127.0.0.1:9101 || fail "restarted client unit: /healthz does not answer"
echo_once 15556 after-watchdog || fail "the restarted client unit does not relay"
ok "SIGSTOPped client relay killed by the watchdog and restarted in $(( $(date +%s) - t_stop )) s; it relays again"

# --- stop -------------------------------------------------------------------------------------------
timeout 30 nsenter -t "$CPID" -a systemctl stop "$CLI" "$SRV" || fail "systemctl stop failed"
for unit in "$SRV" "$CLI"; do
    [[ $(prop "$unit" ActiveState) == inactive ]] || fail "$unit is $(prop "$unit" ActiveState) after stop"
    [[ $(prop "$unit" Result) == success ]] || fail "$unit: Result=$(prop "$unit" Result) after stop"
    [[ $(prop "$unit" ExecMainStatus) == 0 ]] || fail "$unit: exit status $(prop "$unit" ExecMainStatus) on stop"
done
ok "systemctl stop: both units inactive, exit status 0"

errors=$(cin journalctl --no-pager -o cat -u "$SRV" -u "$CLI" |
    grep -Ei 'operation not permitted|permission denied|seccomp|bad system call|cannot write|failed to locate' || true)
[[ -z "$errors" ]] || fail "sandbox errors in the units' journal:"$'\n'"$errors"
ok "no sandbox or permission error in the units' journal"

cin dpkg -P porthop >"$WORKDIR/purge.log" 2>&1 || fail "dpkg -P porthop in the container: $(tail -n 5 "$WORKDIR/purge.log")"
cin test ! -e /var/lib/private/porthop -a ! -L /var/lib/porthop ||
    fail "dpkg -P left the state directory: $(cin ls -la /var/lib/porthop/ /var/lib/private/porthop/ 2>&1)"
ok "dpkg -P: the state directory is gone"

