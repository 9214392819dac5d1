#!/usr/bin/env bash
# The Debian package, end to end on this machine (root, Debian):
#   - packages the binary ctest built (PORTHOP_BIN) with packaging/deb/build-deb.sh
#     (or takes PORTHOP_DEB, e.g. the one make deb wrote);
#   - its Depends (from dpkg-shlibdeps) names libprometheus-cpp-core1.0;
#   - lintian reports no error; porthop(1) names every option of
#     `porthop client --help`, `porthop server --help` and `porthop probe --help`;
#   - dpkg -i installs it; /usr/bin/porthop --version; the units pass
#     systemd-analyze verify, and systemd-analyze security --offline rates
#     them OK or better (exposure printed);
#   - a relay pair started from the installed example configs (only the
#     addresses and ports changed, in a private network namespace, as an
#     unprivileged user with no capabilities like the units' DynamicUser)
#     echoes datagrams through a hopping port set; SIGTERM exits 0;
#   - dpkg -r then dpkg -P leave none of the package's files behind.
# The machine is restored on any exit: the package purged (only if this test
# installed it), the namespace deleted, processes stopped. If porthop is
# already installed, the test is skipped rather than touch that install.
set -eEu -o pipefail

SRC=${PORTHOP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
: "${PORTHOP_BIN:=$SRC/build/porthop}"

. "$(dirname "$0")/lib/base.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root (dpkg -i, network namespaces)"
command -v dpkg-deb >/dev/null || skip "not a Debian system (no dpkg-deb)"
if dpkg-query -W -f='${db:Status-Abbrev}' porthop 2>/dev/null | grep -q '^[ih]'; then
    skip "a porthop package is already installed here; not touching it (dpkg -P porthop to run this test)"
fi
require_commands lintian socat jq curl setpriv

harness_init
NS=porthop-pkg-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
INSTALLED=0

# shellcheck disable=SC2317  # called by harness_cleanup
deb_cleanup() { if ((INSTALLED)); then dpkg -P porthop >/dev/null 2>&1; fi; }
on_cleanup deb_cleanup


# --- build -----------------------------------------------------------------
if [[ -n "${PORTHOP_DEB:-}" ]]; then
    deb=$PORTHOP_DEB
else
    deb=$(bash "$SRC/packaging/deb/build-deb.sh" --binary "$PORTHOP_BIN" --out "$WORKDIR" | tail -n 1)
fi
[[ -f "$deb" ]] || fail "no package built"
ok "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
depends=$(dpkg-deb -f "$deb" Depends)
[[ "$depends" == *libprometheus-cpp-core1.0* ]] ||
    fail "Depends lacks libprometheus-cpp-core1.0 (the /metrics serializer): $depends"
ok "Depends: $depends"

errors=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' | grep '^E:' || true)
[[ -z "$errors" ]] || fail "lintian errors:"$'\n'"$errors"
ok "lintian: no errors"

man_text=$(MANWIDTH=200 man -l "$SRC/packaging/porthop.1" 2>/dev/null | col -bx)
for role in client server probe status; do
    for opt in $("$PORTHOP_BIN" "$role" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$opt" <<<"$man_text" || fail "porthop(1) does not document $role option $opt"
    done
done
ok "porthop(1) documents every option of client, server, probe and status --help"

# --- install -----------------------------------------------------------------
dpkg -i "$deb" >"$WORKDIR/dpkg-install.log" 2>&1 || fail "dpkg -i failed: $(tail -n 5 "$WORKDIR/dpkg-install.log")"
INSTALLED=1
mapfile -t pkg_paths < <(dpkg -L porthop)
ok "dpkg -i: installed ${#pkg_paths[@]} paths"

want_version=$("$PORTHOP_BIN" --version)
got_version=$(/usr/bin/porthop --version)
[[ "$got_version" == "$want_version" ]] || fail "/usr/bin/porthop --version: '$got_version', want '$want_version'"
ok "/usr/bin/porthop --version: $got_version"

for f in /usr/share/man/man1/porthop.1.gz /usr/share/doc/porthop/examples/client.json \
         /usr/share/doc/porthop/examples/server.json /lib/systemd/system/porthop-client@.service \
         /lib/systemd/system/porthop-server@.service /usr/share/doc/porthop/copyright; do
    [[ -f $f ]] || fail "$f not installed"
done
ok "man page, examples, units and copyright installed"

if command -v systemd-analyze >/dev/null; then
    for unit in porthop-client@.service porthop-server@.service; do
        out=$(systemd-analyze verify "/lib/systemd/system/$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
        [[ -z "$out" ]] || fail "systemd-analyze verify $unit warns: $out"
        level=$(systemd-analyze security --offline=yes --no-pager "/lib/systemd/system/$unit" 2>&1 | tail -n 1)
        [[ "$level" =~ exposure\ level.*:\ ([0-9.]+)\ ([A-Z]+) ]] || fail "systemd-analyze security $unit: $level"
        case "${BASH_REMATCH[2]}" in
            PERFECT|SAFE|OK) ok "$unit: verify clean; exposure ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" ;;
            *) fail "$unit: exposure ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}, want OK or better" ;;
        esac
    done
else
    log "systemd-analyze not found: units not verified"
fi

# --- a relay pair from the installed example configs ------------------------
ip netns add "$NS"
NAMESPACES+=("$NS")
ip -n "$NS" link set lo up
# Only the addresses change; every other key of the examples stays.
jq '.listen = "127.0.0.1:14433" | .server = "127.0.0.1:20000-20009" | ."hop-interval" = "1s" | ."hop-jitter" = "200ms"' \
    /usr/share/doc/porthop/examples/client.json >"$WORKDIR/client.json"
jq '.listen = "127.0.0.1:20000-20009" | .upstream = "127.0.0.1:17000"' \
    /usr/share/doc/porthop/examples/server.json >"$WORKDIR/server.json"
chmod 0755 "$WORKDIR"
chmod 0644 "$WORKDIR/client.json" "$WORKDIR/server.json"

# As the units run it: a user that owns nothing, no capabilities.
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
ip netns exec "$NS" socat UDP4-RECVFROM:17000,bind=127.0.0.1,fork EXEC:cat >"$WORKDIR/echo.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$NS" "${as_nobody[@]}" /usr/bin/porthop server --config "$WORKDIR/server.json" >"$WORKDIR/server.log" 2>&1 &
server_pid=$!
BG_PIDS+=("$server_pid")
ip netns exec "$NS" "${as_nobody[@]}" /usr/bin/porthop client --config "$WORKDIR/client.json" >"$WORKDIR/client.log" 2>&1 &
client_pid=$!
BG_PIDS+=("$client_pid")

wait_until 5 healthz_ok "$NS" 127.0.0.1:9101 || fail "client relay not healthy on :9101"
wait_until 5 healthz_ok "$NS" 127.0.0.1:9102 || fail "server relay not healthy on :9102"
ok "relay pair up from the example configs (client :9101, server :9102 healthy)"

. "$(dirname "$0")/lib/echo_hop.sh"
echo_until_hop "$NS" 14433 15555 127.0.0.1:9101 porthop-deb 10
ok "$ECHOES echoes through the installed relay pair, $HOPS hops on the way"

kill -TERM "$client_pid" "$server_pid"
wait "$client_pid" || fail "client relay: exit status $? on SIGTERM"
wait "$server_pid" || fail "server relay: exit status $? on SIGTERM"
ok "both relays exit 0 on SIGTERM"

# --- remove and purge ----------------------------------------------------------
dpkg -r porthop >"$WORKDIR/dpkg-remove.log" 2>&1 || fail "dpkg -r failed: $(tail -n 5 "$WORKDIR/dpkg-remove.log")"
[[ ! -e /usr/bin/porthop ]] || fail "dpkg -r left /usr/bin/porthop"
dpkg -P porthop >"$WORKDIR/dpkg-purge.log" 2>&1 || fail "dpkg -P failed: $(tail -n 5 "$WORKDIR/dpkg-purge.log")"
INSTALLED=0
! dpkg-query -W porthop >/dev/null 2>&1 || fail "dpkg still knows porthop after dpkg -P"
left=()
for p in "${pkg_paths[@]}"; do
    [[ -d $p ]] && continue  # shared directories (/usr/bin, ...) stay
    [[ -e $p || -L $p ]] && left+=("$p")
done
for d in /usr/share/doc/porthop /etc/porthop; do [[ -e $d ]] && left+=("$d"); done
((${#left[@]} == 0)) || fail "left behind after purge: ${left[*]}"
ok "dpkg -r and dpkg -P: nothing of the package left"

