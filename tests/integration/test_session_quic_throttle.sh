#!/usr/bin/env bash
# Real QUIC across the throttling-ISP lab through porthop in session mode, the
# client relay behind a NAT that is rebound mid-download. The body and its
# assertions: lib/quic_throttle.sh.
. "$(dirname "$0")/lib/quic_throttle.sh"
quic_throttle_test session
