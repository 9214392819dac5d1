#!/usr/bin/env bash
# Fault: 5% random loss on the ISP path (LAB_LOSS=5, both directions) during a
# whole real QUIC download through both relays hopping every second: it ends
# complete and byte-identical on one QUIC connection.
export LAB_LOSS=5 LAB_LINK_RATE=20mbit QUIC_MB=16
. "$(dirname "$0")/lib/lab.sh"

lab_start_quic
lab_server_relay
lab_client_relay
download_start loss 50
download_wait
lost=$(lab_counter lost_packets)
log "ISP dropped ${lost:-?} datagrams at random; client relay hops $(cmetric porthop_hops_total)"
assert_download_ok
(( ${lost:-0} > 0 )) || fail "the ISP dropped nothing: the loss rule did not work"
