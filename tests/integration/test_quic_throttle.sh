#!/usr/bin/env bash
# Real QUIC across the throttling-ISP lab through porthop in plain mode:
# directly, hopping faster than the ISP's age threshold, and with hopping
# disabled. The body and its assertions: lib/quic_throttle.sh.
. "$(dirname "$0")/lib/quic_throttle.sh"
quic_throttle_test plain
