# shellcheck shell=bash disable=SC2034  # variables are set for the sourcing test
# echo_until_hop NS PORT SOURCE_PORT METRICS TAG SECONDS: one session (a fixed
# source port) echoes through a client relay on 127.0.0.1:PORT in namespace NS
# until the relay's /metrics (METRICS) counts a hop, then twice more (hops
# happen on a send, so the echo that shows the hop crossed it too); every
# echo must come back. Fails (with the caller's fail) after SECONDS.
# Sets HOPS and ECHOES.
# shellcheck disable=SC2034  # HOPS and ECHOES are for the caller
echo_until_hop() {
    local ns=$1 port=$2 sport=$3 metrics=$4 tag=$5 deadline=$((SECONDS + $6)) reply after=0
    hops_now() { ip netns exec "$ns" curl -fsS -m 2 "http://$metrics/metrics" | awk '/^porthop_hops_total/ { n += $2 } END { print n + 0 }'; }
    ECHOES=0
    while ((after < 3)); do
        ((SECONDS < deadline)) || fail "no hop counted in $6 s ($ECHOES echoes)"
        ECHOES=$((ECHOES + 1))
        reply=$(echo "$tag-$ECHOES" | ip netns exec "$ns" socat -T 2 - "UDP4:127.0.0.1:$port,sourceport=$sport,reuseaddr") || true
        [[ "$reply" == "$tag-$ECHOES" ]] || fail "echo $ECHOES through the relay pair: got '$reply'"
        if ((after > 0 || ($(hops_now) >= 1 && ECHOES >= 3))); then
            after=$((after + 1))
        else
            sleep 0.1   # poll interval
        fi
    done
    HOPS=$(hops_now)
}
