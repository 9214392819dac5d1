#!/usr/bin/env bash
# Flood on the client relay; the test itself is in lib/flood.sh.
. "$(dirname "$0")/lib/flood.sh"
flood_test client
