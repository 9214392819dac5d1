#!/usr/bin/env bash
# Two concurrent downstream clients (source ports 40000 and 40001, each with
# its own random tag in every datagram) go through the same relay pair at the
# same time; each gets back exactly its own datagrams, intact and in order,
# and never a byte of the other's.
. "$(dirname "$0")/lib/pair.sh"

COUNT=5000

setup_topology
start_echo "$NS_SRV" "$SRV_V4:$ECHO_PORT"
start_server_relay "$SRV_V4" "$SRV_V4:$ECHO_PORT"
start_client_relay "$CLI_V4:$CLIENT_PORT" "$SRV_V4" --hop-interval 200ms

check "2 concurrent sessions x $COUNT datagrams (same size sequence, different tags, window 32 each): each gets only its own data back"
exchange "$NS_CLI" --target "$CLI_V4:$CLIENT_PORT" --bind "$CLI_V4:40000" --sessions 2 --count "$COUNT" \
    --window 32 --spread 2 --timeout 30 ||
    fail "a session lost data or received the other session's data (foreign/corrupt/unexpected counts above)"
ok "both sessions got all $COUNT of their own datagrams, none of the other's"

check "the client relay gave each session its own upstream socket"
# (docs/design.md, "Roles": each session owns one upstream socket, its own source port.)
mapfile -t ports < <(udp_ports_of_pid "$NS_CLI" "$CLIENT_PID")
log "client relay's UDP sockets now: ${ports[*]}"
(( ${#ports[@]} >= 3 )) ||
    fail "the client relay holds ${#ports[@]} UDP sockets (${ports[*]}); expected its listening socket plus one upstream socket per session (>= 3)"
ok "client relay holds ${#ports[@]} UDP sockets: listen + one per session"
