#!/usr/bin/env bash
# Fault (issue 16): the client relay (session mode, --state-file) is SIGKILLed in the
# middle of a real QUIC download and started again 1 s later with the same
# state file; the download ends complete and byte-identical on the same QUIC
# connection (lib/restart.sh).
. "$(dirname "$0")/lib/restart.sh"
restart_test client session
