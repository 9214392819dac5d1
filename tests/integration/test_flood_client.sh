#!/usr/bin/env bash
# Flood on the client relay; the test itself is in flood_lib.sh.
NAME=test_flood_client
# shellcheck source=tests/integration/flood_lib.sh
. "$(dirname "$0")/flood_lib.sh"
flood_test client
