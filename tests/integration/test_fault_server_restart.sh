#!/usr/bin/env bash
# Fault: the server relay (plain mode, --state-file) is SIGKILLed in the
# middle of a real QUIC download and started again 1 s later with the same
# state file; the download ends complete and byte-identical on the same QUIC
# connection (lib/restart.sh): the restored session's upstream socket is on
# its old local port, so the QUIC server's retransmissions reach the new
# process.
. "$(dirname "$0")/lib/restart.sh"
restart_test server plain
