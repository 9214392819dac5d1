#!/usr/bin/env bash
# Flood on the server relay; the test itself is in lib/flood.sh.
. "$(dirname "$0")/lib/flood.sh"
flood_test server
