#!/usr/bin/env bash
# Fault: 5% random loss on the ISP path (LAB_LOSS=5, both directions) during a
# whole real QUIC download through both relays hopping every second: it ends
# complete and byte-identical on one QUIC connection.
# shellcheck disable=SC2119  # start_*_relay take optional extra arguments
NAME=test_fault_loss
export LAB_LOSS=5 FAULT_LINK_RATE=20mbit FAULT_MB=16
# shellcheck source=tests/integration/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

fault_lab_up
start_server_relay
start_client_relay
download_start loss 50
download_wait
lost=$(lab_counter lost_packets)
log "ISP dropped ${lost:-?} datagrams at random; client relay hops $(cmetric porthop_hops_total)"
assert_download_ok
(( ${lost:-0} > 0 )) || fail "the ISP dropped nothing: the loss rule did not work"
