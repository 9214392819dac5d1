#!/usr/bin/env bash
# Flood on the server relay; the test itself is in flood_lib.sh.
NAME=test_flood_server
# shellcheck source=tests/integration/flood_lib.sh
. "$(dirname "$0")/flood_lib.sh"
flood_test server
