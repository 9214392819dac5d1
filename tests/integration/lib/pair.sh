# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# tests/integration/lib/pair.sh: the relay-pair topology for the test_relay_*
# and test_session_* tests, on top of lib/base.sh. Source it first thing:
#
#   . "$(dirname "$0")/lib/pair.sh"
#
# Environment (set by ctest): PORTHOP_BIN (the porthop binary), PORTHOP_TOOLS
# (directory of udp_echo, udp_exchange, udp_send_from), PORTHOP_SRC (repo root).
#
# Topology made by setup_topology, three fresh network namespaces linked only to
# each other with veth pairs (nothing touches the host's own network):
#
#   cli (application + client relay)   mid (router, nft counters)   srv (server relay + echo)
#   c0 10.77.1.2     fd00:77:1::2 ---- m0 10.77.1.1 fd00:77:1::1
#                                      m1 10.77.2.1 fd00:77:2::1 ---- s0 10.77.2.2 fd00:77:2::2
#
# Namespaces are named porthop-{cli,mid,srv}-<random>; every process the test
# starts is stopped and the namespaces are deleted on exit, even on failure.
# The relays (base.sh's start_server_relay / start_client_relay) run in srv
# and cli.
#
#   setup_topology                 the namespaces, links, routes, nft counters
#   mid_dports                     distinct UDP destination ports mid forwarded
#   mid_udp_packets / mid_udp_bytes [COUNTER]
#   exchange_payload_bytes COUNT [MIN MAX]
#   start_echo NS ADDR:PORT        udp_echo; ECHO_PID once bound
#   wait_metrics NS ADDR:PORT PID  the /metrics endpoint answers
#   udp_ports_of_pid NS PID / udp_socket_count_of_pid NS PID /
#   udp_socket_count_is NS PID N

# shellcheck source=base.sh
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
harness_init

SUFFIX=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
NS_CLI=porthop-cli-$SUFFIX
NS_MID=porthop-mid-$SUFFIX
NS_SRV=porthop-srv-$SUFFIX

CLI_V4=10.77.1.2
MID_CLI_V4=10.77.1.1
MID_SRV_V4=10.77.2.1
SRV_V4=10.77.2.2
CLI_V6=fd00:77:1::2
MID_CLI_V6=fd00:77:1::1
MID_SRV_V6=fd00:77:2::1
SRV_V6=fd00:77:2::2

# Defaults most tests use.
PORTSET=20000-20049
PORTSET_LO=20000
PORTSET_HI=20049
PORTSET_SIZE=50
CLIENT_PORT=5000        # client relay's downstream (listen) port
ECHO_PORT=7000          # upstream echo server's port
CLIENT_METRICS=127.0.0.1:9101   # inside cli
SERVER_METRICS=127.0.0.1:9102   # inside srv

SERVER_NS=$NS_SRV
CLIENT_NS=$NS_CLI

# ---------------------------------------------------------------- topology

make_ns() {
    ip netns add "$1"
    NAMESPACES+=("$1")
    ip -n "$1" link set lo up
    nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

no_tentative_addresses() { [[ -z $(ip -n "$1" -6 addr show tentative) ]]; }

setup_topology() {
    log "creating namespaces $NS_CLI, $NS_MID, $NS_SRV"
    make_ns "$NS_CLI"
    make_ns "$NS_MID"
    make_ns "$NS_SRV"
    ip -n "$NS_CLI" link add c0 type veth peer name m0 netns "$NS_MID"
    ip -n "$NS_SRV" link add s0 type veth peer name m1 netns "$NS_MID"

    ip -n "$NS_CLI" addr add "$CLI_V4/24" dev c0
    ip -n "$NS_CLI" -6 addr add "$CLI_V6/64" dev c0 nodad
    ip -n "$NS_MID" addr add "$MID_CLI_V4/24" dev m0
    ip -n "$NS_MID" -6 addr add "$MID_CLI_V6/64" dev m0 nodad
    ip -n "$NS_MID" addr add "$MID_SRV_V4/24" dev m1
    ip -n "$NS_MID" -6 addr add "$MID_SRV_V6/64" dev m1 nodad
    ip -n "$NS_SRV" addr add "$SRV_V4/24" dev s0
    ip -n "$NS_SRV" -6 addr add "$SRV_V6/64" dev s0 nodad
    ip -n "$NS_CLI" link set c0 up
    ip -n "$NS_MID" link set m0 up
    ip -n "$NS_MID" link set m1 up
    ip -n "$NS_SRV" link set s0 up
    ip -n "$NS_CLI" route add default via "$MID_CLI_V4"
    ip -n "$NS_CLI" -6 route add default via "$MID_CLI_V6"
    ip -n "$NS_SRV" route add default via "$MID_SRV_V4"
    ip -n "$NS_SRV" -6 route add default via "$MID_SRV_V6"
    nsx "$NS_MID" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

    # Count, in the router, every UDP packet forwarded towards the server side
    # (IPv4 ones also apart) and the set of distinct destination ports used.
    nsx "$NS_MID" nft -f - <<NFT
table inet porthop_mid {
    counter udp_to_srv { }
    counter udp_to_srv_v4 { }
    set dports_to_srv { type inet_service; size 65535; flags dynamic; }
    chain forward {
        type filter hook forward priority 0; policy accept;
        oifname "m1" meta l4proto udp counter name "udp_to_srv"
        oifname "m1" meta nfproto ipv4 meta l4proto udp counter name "udp_to_srv_v4"
        # Ports only from packets that carry a UDP header: not from fragments
        # (an IPv6 datagram of 1453..1472 bytes does not fit a 1500 MTU).
        oifname "m1" ip protocol udp ip frag-off & 0x1fff == 0 add @dports_to_srv { udp dport }
        oifname "m1" ip6 nexthdr udp add @dports_to_srv { udp dport }
    }
}
NFT
    local ns
    for ns in "$NS_CLI" "$NS_MID" "$NS_SRV"; do
        wait_until 5 no_tentative_addresses "$ns" || fail "IPv6 addresses in $ns stay tentative"
    done
}

# Distinct UDP destination ports the router forwarded towards srv, one a line.
mid_dports() {
    nsx "$NS_MID" nft list set inet porthop_mid dports_to_srv |
        awk '/elements = \{/ { on = 1 } on { print } on && /\}/ { exit }' |
        sed 's/elements = //' | grep -oE '[0-9]+' | sort -n | uniq || true
}

# Packets counted by the router's udp_to_srv counter (all UDP towards srv),
# or by the counter named in $1 (udp_to_srv_v4: only the IPv4 ones).
mid_udp_packets() {
    nsx "$NS_MID" nft list counter inet porthop_mid "${1:-udp_to_srv}" | grep -oE 'packets [0-9]+' | grep -oE '[0-9]+'
}

# Bytes (IP packets, headers included) the same counter saw. With UDP GSO a
# run of same-size datagrams crosses the router as one packet, so packets
# undercount datagrams; bytes never undercount payloads.
mid_udp_bytes() {
    nsx "$NS_MID" nft list counter inet porthop_mid "${1:-udp_to_srv}" | grep -oE 'bytes [0-9]+' | grep -oE '[0-9]+'
}

# exchange_payload_bytes COUNT [MIN MAX]: the payload bytes of udp_exchange's
# COUNT datagrams (sizes cycle MIN..MAX, default 1..1472).
exchange_payload_bytes() {
    local count=$1 min=${2:-1} max=${3:-1472}
    awk -v n="$count" -v lo="$min" -v hi="$max" 'BEGIN { for (i = 0; i < n; i++) s += lo + i % (hi - lo + 1); print s }'
}

# ---------------------------------------------------------------- processes

# start_echo NS ADDR:PORT -> ECHO_PID, once the socket is bound.
start_echo() {
    local ns=$1 addr=$2
    start_bg udp_echo ip netns exec "$ns" "$PORTHOP_TOOLS/udp_echo" --listen "$addr"
    ECHO_PID=$LAST_PID
    wait_ready 5 "$ECHO_PID" "udp_echo to listen on $addr" udp_listening "$ns" "${addr##*:}"
}

# wait_metrics NS ADDR:PORT PID: the /metrics endpoint answers.
metrics_up() { ip netns exec "$1" curl -sf --max-time 1 -o /dev/null "http://$2/metrics"; }
wait_metrics() {
    wait_ready 10 "$3" "the metrics endpoint http://$2/metrics (in ${1%-*})" metrics_up "$1" "$2"
}

# udp_ports_of_pid NS PID: local ports of every UDP socket PID holds, one a line.
udp_ports_of_pid() {
    ip netns exec "$1" ss -Huanp | { grep -F "pid=$2," || true; } | awk '{ n = split($4, a, ":"); print a[n] }' | sort -n
}
udp_socket_count_of_pid() { udp_ports_of_pid "$1" "$2" | wc -l; }
udp_socket_count_is() { [[ $(udp_socket_count_of_pid "$1" "$2") == "$3" ]]; }

require_tools() {
    local t
    [[ -x $PORTHOP_BIN ]] || fail "PORTHOP_BIN=$PORTHOP_BIN is not an executable"
    for t in udp_echo udp_exchange udp_send_from; do
        [[ -x $PORTHOP_TOOLS/$t ]] || fail "missing test tool $PORTHOP_TOOLS/$t"
    done
    require_commands ip nft ss curl
    (( EUID == 0 )) || fail "integration tests need root (network namespaces)"
}
require_tools
