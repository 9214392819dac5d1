# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing script
# Sourced by the quiche lab tests: Cloudflare quiche (npm @matrixai/quic, a
# Node binding with the native module prebuilt) as the QUIC peer, driven by
# tests/quiche/peer.mjs.
#
#   quiche_setup WORK      node_modules from tests/quiche/package-lock.json,
#                          installed once per machine into
#                          PORTHOP_QUICHE_CACHE (default
#                          /var/cache/porthop-test/quiche-<lock hash>), and
#                          WORK/quiche/peer.mjs next to a link to them;
#                          returns 1 (message on stderr) when Node < 20
#   quiche_server_start NS ADDR:PORT CERT KEY LOG
#                          the echo/download server; waits until it listens
#   quiche_server_stop
#   quiche_connections LOG connections the server accepted
#   quiche_client NS HOST:PORT DOWNLOAD ECHO DEADLINE OUT
#                          one connection: a DOWNLOAD-byte download then a
#                          ECHO-byte echo (0: none), every byte checked; the
#                          JSON lines go to OUT; sets QUICHE_STATUS (0 all
#                          verified, 3 cut at DEADLINE s, else failed),
#                          QUICHE_BYTES QUICHE_MBPS QUICHE_COMPLETE
#                          QUICHE_SHA_OK (of the download) and
#                          QUICHE_ECHO_OK (1 when the echo came back whole)

quiche_setup() {
    local work=$1 src lock_hash cache
    src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../quiche" && pwd)"
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node and npm are missing (Node 20: make deps)" >&2
        return 1
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    ((major >= 20)) || { echo "node $(node --version) is too old: @matrixai/quic needs Node 20" >&2; return 1; }
    lock_hash=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
    cache=${PORTHOP_QUICHE_CACHE:-/var/cache/porthop-test/quiche-$lock_hash}
    mkdir -p "$(dirname "$cache")"
    (
        flock 9
        if [[ ! -f "$cache/.porthop-complete" ]]; then
            rm -rf "$cache"
            mkdir -p "$cache"
            cp "$src/package.json" "$src/package-lock.json" "$cache/"
            # npm install with the lock, not npm ci: ci rejects this lock,
            # whose other-platform optional packages (darwin, win32 builds of
            # the native module) npm leaves out of it.
            (cd "$cache" && npm install --no-audit --no-fund --no-save --loglevel=error) >"$cache.npm.log" 2>&1 ||
                { echo "npm ci for the quiche peer failed, see $cache.npm.log:" >&2; tail -n 20 "$cache.npm.log" >&2; exit 1; }
            touch "$cache/.porthop-complete"
        fi
    ) 9>"$cache.lock" || return 1
    mkdir -p "$work/quiche"
    cp "$src/peer.mjs" "$work/quiche/"
    ln -sfn "$cache/node_modules" "$work/quiche/node_modules"
    QUICHE_PEER="$work/quiche/peer.mjs"
}

QUICHE_SERVER_PID=""
quiche_server_start() {
    local ns=$1 listen=$2 cert=$3 key=$4 log=$5
    ip netns exec "$ns" node "$QUICHE_PEER" server --listen "$listen" --cert "$cert" --key "$key" \
        >"$log" 2>&1 &
    QUICHE_SERVER_PID=$!
    wait_until 20 "quiche server listening on $listen" grep -q '^listening' "$log"
}

quiche_server_stop() {
    if [[ -n "$QUICHE_SERVER_PID" ]]; then
        kill "$QUICHE_SERVER_PID" 2>/dev/null || true
        wait "$QUICHE_SERVER_PID" 2>/dev/null || true
        QUICHE_SERVER_PID=""
    fi
}

quiche_connections() { grep -c '^connection [0-9]* from' "$1" || true; }

quiche_client() {
    local ns=$1 target=$2 download=$3 echo_bytes=$4 deadline=$5 out=$6
    local args=(--connect "$target" --download "$download" --deadline "$deadline")
    ((echo_bytes > 0)) && args+=(--echo "$echo_bytes")
    QUICHE_STATUS=0
    # The client stops itself at the deadline; timeout(1) only guards a hang.
    timeout --kill-after=5 $((deadline + 15)) ip netns exec "$ns" node "$QUICHE_PEER" client "${args[@]}" \
        >"$out" 2>"$out.err" || QUICHE_STATUS=$?
    local dl
    dl=$(grep '"request":"download"' "$out" || echo '{}')
    QUICHE_BYTES=$(jq -r '.bytes // 0' <<<"$dl")
    QUICHE_SECONDS=$(jq -r '.seconds // 0' <<<"$dl")
    QUICHE_MBPS=$(jq -r '.mbps // 0' <<<"$dl")
    QUICHE_COMPLETE=$(jq -r 'if .complete then 1 else 0 end' <<<"$dl")
    QUICHE_SHA_OK=$(jq -r 'if .sha256_ok then 1 else 0 end' <<<"$dl")
    QUICHE_ECHO_OK=$(grep '"request":"echo"' "$out" | jq -r 'if .complete and .sha256_ok then 1 else 0 end' || echo 0)
    [[ -n "$QUICHE_ECHO_OK" ]] || QUICHE_ECHO_OK=0
    return 0
}
