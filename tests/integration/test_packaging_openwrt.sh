#!/usr/bin/env bash
# The OpenWrt package (packaging/openwrt/), as far as it can be tested off a
# router:
#   - shellcheck passes on the procd init script and every packaging script;
#   - the Makefile gets prometheus-cpp (not in OpenWrt's feeds) from source
#     at Debian's version and links its core statically;
#   - uci2json.awk turns the shipped /etc/config/porthop into the expected
#     JSON, under busybox awk (OpenWrt's), mawk and gawk alike; only options
#     porthop takes come out; quoting, escapes, comments, booleans, counts
#     and lists translate as uci reads them; a missing section fails;
#   - the init script, with procd and the uci helpers stubbed, starts one
#     instance per enabled section with the right command (its JSON file and
#     its state file, in a directory of mode 700 owned by porthop) and
#     parameters and skips disabled ones;
#   - porthop itself accepts the translation: a client and a server section
#     for loopback, translated, run as a relay pair that echoes a datagram
#     (in a private network namespace).
set -eEu -o pipefail

SRC=${PORTHOP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
: "${PORTHOP_BIN:=$SRC/build/porthop}"
OWRT=$SRC/packaging/openwrt

. "$(dirname "$0")/lib/base.sh"

require_commands shellcheck jq

harness_init
NS=""

# --- shellcheck ------------------------------------------------------------------
shellcheck "$OWRT/files/porthop.init" || fail "shellcheck: packaging/openwrt/files/porthop.init"
shellcheck -s sh "$SRC"/packaging/deb/{postinst,prerm,postrm} || fail "shellcheck: deb maintainer scripts"
# -x -P SCRIPTDIR, as make lint: a script's sources are found next to it.
(cd "$SRC" && shellcheck -x -P SCRIPTDIR packaging/deb/build-deb.sh packaging/cross/build-cross.sh \
    tests/integration/test_packaging_*.sh tests/integration/test_cross_*.sh) || fail "shellcheck: packaging scripts"
ok "shellcheck: init script, maintainer scripts, build and test scripts"

# --- how the Makefile gets prometheus-cpp -------------------------------------------
# OpenWrt has no prometheus-cpp package: the Makefile downloads its release
# source at Debian 12's version and has porthop's CMake build the core into
# the binary, statically; the package depends on no prometheus library.
mk=$OWRT/Makefile
owrt_version=$(sed -n 's/^PROMETHEUS_CPP_VERSION:=//p' "$mk")
[[ -n "$owrt_version" ]] || fail "Makefile: no PROMETHEUS_CPP_VERSION"
if debian_version=$(dpkg-query -W -f='${Version}' prometheus-cpp-dev 2>/dev/null); then
    [[ "${debian_version%%-*}" == "$owrt_version" ]] ||
        fail "Makefile builds prometheus-cpp $owrt_version, Debian's prometheus-cpp-dev is $debian_version"
fi
grep -q 'call Download,prometheus-cpp' "$mk" || fail "Makefile: prometheus-cpp is not downloaded"
# shellcheck disable=SC2016 # a make variable, literally
grep -q -- '-DPORTHOP_PROMETHEUS_CPP_SOURCE=$(PKG_BUILD_DIR)/.prometheus-cpp' "$mk" ||
    fail "Makefile: CMake is not given the prometheus-cpp source (PORTHOP_PROMETHEUS_CPP_SOURCE)"
grep -q 'if(PORTHOP_PROMETHEUS_CPP_SOURCE)' "$SRC/CMakeLists.txt" ||
    fail "CMakeLists.txt does not build prometheus-cpp from PORTHOP_PROMETHEUS_CPP_SOURCE"
if grep '^ *DEPENDS:=' "$mk" | grep -qi prometheus; then
    fail "Makefile: the package depends on a prometheus library OpenWrt does not have"
fi
ok "Makefile: prometheus-cpp $owrt_version from source, core linked statically, no runtime dependency"

# --- uci2json.awk -------------------------------------------------------------------
awks=()
command -v busybox >/dev/null && busybox awk 'BEGIN{}' 2>/dev/null && awks+=("busybox awk")
for a in mawk gawk original-awk; do command -v "$a" >/dev/null && awks+=("$a"); done
((${#awks[@]})) || fail "no awk found"
translate() {  # AWK SECTION FILE
    $1 -v section="$2" -f "$OWRT/files/uci2json.awk" "$3"
}

want_main='{"listen":"192.168.1.1:4433","server":"vps.example.com:20000-20999","hop-interval":"10s",
  "hop-jitter":"2s","idle-timeout":"60s","max-sessions":1024,"metrics":"127.0.0.1:9101","log-level":"info"}'
client_opts=$("$PORTHOP_BIN" client --help | grep -o -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u)

cat >"$WORKDIR/edge.uci" <<'EOF'
package porthop

config server 'other'
	option listen '0.0.0.0:1-2'

config client "edge"   # a comment after the section
	option enabled '1'
	option listen 127.0.0.1:4433
	option server "host\"name:20000-20001"
	option log_level 'it'\''s'
	option hop_on_slowdown 'yes'
	option max_sessions '0100'
	option hop_bytes 'lots'
	option sndbuf '0'
	option new_session_rate '5'
	list   metrics '1'
	list   metrics "2"
	option hop_interval	'5s'	# tabs around the value
	option idle_timeout '1m'
	option idle_timeout '2m'
# config client 'commented'
EOF
want_edge='{"listen":"127.0.0.1:4433","server":"host\"name:20000-20001","log-level":"it'"'"'s",
  "hop-on-slowdown":true,"max-sessions":100,"hop-bytes":"lots","sndbuf":0,"new-session-rate":5,"metrics":"1,2",
  "hop-interval":"5s","idle-timeout":"2m"}'

for a in "${awks[@]}"; do
    got=$(translate "$a" main "$OWRT/files/porthop.config") || fail "$a: uci2json failed on the shipped config"
    jq -e --argjson want "$want_main" '. == $want' >/dev/null <<<"$got" ||
        fail "$a: shipped config, section main: got $got"
    for key in $(jq -r 'keys[]' <<<"$got"); do
        grep -qx -- "$key" <<<"$client_opts" || fail "$a: key $key is not a porthop client option"
    done
    # Key order is the file's.
    [[ $(jq -r 'keys_unsorted | join(" ")' <<<"$got") == "listen server hop-interval hop-jitter idle-timeout max-sessions metrics log-level" ]] ||
        fail "$a: keys out of the file's order: $got"

    got=$(translate "$a" edge "$WORKDIR/edge.uci") || fail "$a: uci2json failed on the edge cases"
    jq -e --argjson want "$want_edge" '. == $want' >/dev/null <<<"$got" || fail "$a: edge cases: got $got"

    if translate "$a" absent "$OWRT/files/porthop.config" >"$WORKDIR/absent.json" 2>"$WORKDIR/absent.err"; then
        fail "$a: a missing section translated"
    fi
    grep -q "no section 'absent'" "$WORKDIR/absent.err" || fail "$a: missing section message: $(cat "$WORKDIR/absent.err")"
    printf "config client 'x'\n\toption listen 'open\n" >"$WORKDIR/bad.uci"
    if translate "$a" x "$WORKDIR/bad.uci" >/dev/null 2>"$WORKDIR/bad.err"; then fail "$a: an unterminated quote translated"; fi
    grep -q "unterminated quote" "$WORKDIR/bad.err" || fail "$a: unterminated quote message: $(cat "$WORKDIR/bad.err")"
done
ok "uci2json.awk under ${awks[*]}: shipped config, quoting/escapes/booleans/counts/lists, missing section, bad quote"

# --- the init script with procd stubbed -----------------------------------------
cat >"$WORKDIR/loopback.uci" <<'EOF'
config server 'vps'
	option enabled '1'
	option listen '127.0.0.1:21000-21009'
	option upstream '127.0.0.1:17001'
	option metrics '127.0.0.1:9112'
	option log_level 'info'

config client 'lan'
	option enabled 'on'
	option listen '127.0.0.1:14434'
	option server '127.0.0.1:21000-21009'
	option hop_interval '1s'
	option metrics '127.0.0.1:9111'

config client 'off'
	option enabled '0'
	option listen '127.0.0.1:14435'
	option server '127.0.0.1:21000-21009'
EOF

cat >"$WORKDIR/stubs.sh" <<'EOF'
# Stand-ins for OpenWrt's /lib/functions.sh and procd.sh, over $UCI_FILE.
uci() { [ "$*" = "-q -n export porthop" ] || { echo "uci stub: unexpected: uci $*" >&2; return 1; }; cat "$UCI_FILE"; }
logger() { echo "logger: $*"; }
config_load() { [ "$1" = porthop ] || return 1; }
config_foreach() {
	local fn="$1" type="$2" name
	shift 2
	for name in $(awk -v t="$type" '$1 == "config" && $2 == t { gsub(/[\047"]/, "", $3); print $3 }' "$UCI_FILE"); do
		"$fn" "$name" "$@"
	done
}
config_get_bool() {
	local v
	v=$(awk -v s="$2" -v o="$3" '$1 == "config" { gsub(/[\047"]/, "", $3); cur = $3 }
		cur == s && $1 == "option" && $2 == o { gsub(/[\047"]/, "", $3); v = $3 } END { print v }' "$UCI_FILE")
	case "${v:-$4}" in 1|on|yes|true|enabled) v=1 ;; *) v=0 ;; esac
	eval "$1=\$v"
}
procd_open_instance() { echo "instance $1"; }
procd_set_param() { echo "  $*"; }
procd_close_instance() { echo "end"; }
procd_add_reload_trigger() { echo "reload trigger $*"; }
chown() { echo "chown $*"; }
EOF
# shellcheck disable=SC2016 # expanded by dash, from its arguments
UCI_FILE=$WORKDIR/loopback.uci dash -c '
    . "$0"; . "$1"
    UCI2JSON=$2; RUNDIR=$3; STATEDIR=$4
    start_service
    service_triggers
' "$WORKDIR/stubs.sh" "$OWRT/files/porthop.init" "$OWRT/files/uci2json.awk" "$WORKDIR/run" "$WORKDIR/state" >"$WORKDIR/procd.log" 2>&1 ||
    fail "init script start_service failed: $(cat "$WORKDIR/procd.log")"
want_procd="chown porthop:porthop $WORKDIR/state
instance lan
  command /usr/bin/porthop client --config $WORKDIR/run/lan.json --state-file $WORKDIR/state/lan.state
  user porthop
  limits nofile=65536 65536
  reload_signal HUP
  respawn 3600 5 5
  stdout 1
  stderr 1
end
instance vps
  command /usr/bin/porthop server --config $WORKDIR/run/vps.json --state-file $WORKDIR/state/vps.state
  user porthop
  limits nofile=65536 65536
  reload_signal HUP
  respawn 3600 5 5
  stdout 1
  stderr 1
end
reload trigger porthop"
[[ "$(cat "$WORKDIR/procd.log")" == "$want_procd" ]] ||
    fail "init script: procd calls differ; got:"$'\n'"$(cat "$WORKDIR/procd.log")"
[[ ! -e "$WORKDIR/run/off.json" ]] || fail "init script wrote a config for the disabled section"
[[ $(stat -c %a "$WORKDIR/state") == 700 ]] || fail "init script: the state directory is mode $(stat -c %a "$WORKDIR/state"), want 700"
ok "init script: one procd instance per enabled section (lan, vps), disabled one skipped, reload trigger"

# --- porthop runs the translation ---------------------------------------------------
if [[ $(id -u) -ne 0 ]] || ! command -v socat >/dev/null; then
    log "not root or no socat: the relay pair from the translated config is skipped"
    exit 0
fi
NS=porthop-owrt-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
ip netns add "$NS"
NAMESPACES+=("$NS")
ip -n "$NS" link set lo up
ip netns exec "$NS" socat UDP4-RECVFROM:17001,bind=127.0.0.1,fork EXEC:cat >"$WORKDIR/echo.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$NS" "$PORTHOP_BIN" server --config "$WORKDIR/run/vps.json" >"$WORKDIR/server.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$NS" "$PORTHOP_BIN" client --config "$WORKDIR/run/lan.json" >"$WORKDIR/client.log" 2>&1 &
BG_PIDS+=($!)
if ! { wait_until 5 healthz_ok "$NS" 127.0.0.1:9111 && wait_until 5 healthz_ok "$NS" 127.0.0.1:9112; }; then
    fail "relays from the translated configs are not healthy"
fi
reply=$(echo porthop-owrt | ip netns exec "$NS" socat -T 2 - UDP4:127.0.0.1:14434) || true
[[ "$reply" == porthop-owrt ]] || fail "echo through the relays from the translated configs: got '$reply'"
ok "porthop runs the translated client and server sections: an echo goes through"
