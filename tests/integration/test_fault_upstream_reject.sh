#!/usr/bin/env bash
# Fault: the upstream QUIC server's port answers ICMP port unreachable for 2 s
# in the middle of a real QUIC download (an nft `udp dport 4433 reject` rule
# in vps, then removed). The relays survive, the server relay counts the ICMP
# errors as send_error, and the download ends complete and byte-identical on
# the same QUIC connection.
. "$(dirname "$0")/lib/lab.sh"

lab_start_quic
lab_server_relay
lab_client_relay
download_start reject 45
wait_bytes $(( 1 << 20 )) 15
errors_before=$(smetric porthop_dropped_packets_total 'reason="send_error"')
ip netns exec "$NS_VPS" nft -f - <<'NFT'
table inet porthop_fault {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport 4433 counter reject
    }
}
NFT
log "upstream port 4433 rejects (ICMP port unreachable) at $(download_bytes) bytes"
sleep 2   # a deliberate duration: how long the upstream port rejects
rejected=$(ip netns exec "$NS_VPS" nft list chain inet porthop_fault input | grep -oE 'packets [0-9]+' | awk '{print $2}')
ip netns exec "$NS_VPS" nft delete table inet porthop_fault
log "rule removed after 2 s; it rejected ${rejected:-0} datagrams"
download_wait
kill -0 "$SERVER_PID" || fail "the server relay died"
kill -0 "$CLIENT_PID" || fail "the client relay died"
assert_download_ok
errors=$(smetric porthop_dropped_packets_total 'reason="send_error"')
log "server relay send_error: before ${errors_before:-?}, after ${errors:-?}"
(( ${rejected:-0} > 0 )) || fail "the reject rule never matched: nothing was sent upstream during the 2 s"
(( ${errors:-0} > ${errors_before:-0} )) || fail "the server relay counted no send_error for $rejected rejected datagrams"
ok "relays alive, send_error counted ($errors)"
