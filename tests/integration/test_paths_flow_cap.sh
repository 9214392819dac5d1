#!/usr/bin/env bash
# Real QUIC through porthop --paths 8 (plain mode) across an ISP that caps
# every UDP flow: the body and its assertions are lib/paths.sh.
. "$(dirname "$0")/lib/paths.sh"
paths_flow_cap_test plain
