#!/usr/bin/env bash
# Fault: the client relay runs with --sndbuf 4096 during a real QUIC download,
# and the router's LAN egress (r-lan) is a 20 Mbit/s TBF while the ISP link
# is 200 Mbit/s: datagrams wait in that qdisc, hold the socket's send buffer,
# and the relay's downstream socket says EAGAIN all the time (on a bare veth
# the buffer is released at once and EAGAIN never comes).
#
# QUIC's congestion control keeps the relay's queue below its 256 KiB bound,
# so a second phase overruns it on purpose: after the download, 20 000
# datagrams of 1200 bytes from one LAN source as fast as possible, through a
# 20 Mbit/s TBF on the router's WAN egress (r-wan): queue_full must be
# counted, and the loop must still not spin. The relay must queue (send queue
# bytes seen > 0) and count what the bounded queues refuse (queue_full), the
# loop must not spin on writable events (CPU time well below wall time), and
# the download ends complete and byte-identical on one QUIC connection.
export LAB_LINK_RATE="${LAB_LINK_RATE:-200mbit}"
export QUIC_MB="${QUIC_MB:-16}"
. "$(dirname "$0")/lib/lab.sh"

lab_start_quic
lab_server_relay
lab_client_relay --sndbuf 4096
ip netns exec "$NS_ROUTER" tc qdisc replace dev r-lan root tbf rate 20mbit burst 32kb latency 200ms
tck=$(clk_tck)
metric_is_zero() { [[ $(cmetric "$1") == 0 ]]; }
cpu0=$(proc_cpu_ticks "$CLIENT_PID")
t0=$(now_ns)
download_start sndbuf 50
max_queue=0
while kill -0 "$DL_PID" 2>/dev/null; do
    q=$(cmetric porthop_send_queue_bytes)
    (( ${q:-0} > max_queue )) && max_queue=$q
    sleep 0.05   # the sampling period, while the download runs
done
cpu1=$(proc_cpu_ticks "$CLIENT_PID")
wall_ms=$(( ($(now_ns) - t0) / 1000000 ))
download_wait
cpu_ms=$(( (cpu1 - cpu0) * 1000 / tck ))
queue_full=$(cmetric porthop_dropped_packets_total 'reason="queue_full"')
log "client relay: CPU ${cpu_ms} ms over ${wall_ms} ms wall ($(( cpu_ms * 100 / (wall_ms > 0 ? wall_ms : 1) ))%), send queue peak ${max_queue} B (sampled), queue_full drops ${queue_full:-?}"
assert_download_ok
(( cpu_ms * 100 < wall_ms * 80 )) || fail "the client relay used ${cpu_ms} ms CPU in ${wall_ms} ms: it spins"
(( max_queue > 0 || ${queue_full:-0} > 0 )) || fail "no queueing seen with --sndbuf 4096 (queue peak 0, queue_full 0)"
ok "queued under EAGAIN without spinning"

# Phase 2: an unresponsive sender overruns one session's queue.
FLOOD="$PORTHOP_TOOLS/flood_udp"
[[ -x "$FLOOD" ]] || fail "missing $FLOOD (build the test tools)"
ip netns exec "$NS_ROUTER" tc qdisc replace dev r-wan root tbf rate 20mbit burst 32kb latency 200ms
cpu0=$(proc_cpu_ticks "$CLIENT_PID")
t0=$(now_ns)
ip netns exec "$NS_LAN" "$FLOOD" --dst "$ROUTER_LAN_IP" --ports 4433 --src-net "$LAN_IP/32" --src-port 40000 \
    --count 20000 --min-size 1200 --max-size 1200 >"$WORKDIR/blast.out" 2>&1 || fail "flood_udp: $(cat "$WORKDIR/blast.out")"
wait_until 5 metric_is_zero porthop_send_queue_bytes || true
cpu_ms=$(( ($(proc_cpu_ticks "$CLIENT_PID") - cpu0) * 1000 / tck ))
wall_ms=$(( ($(now_ns) - t0) / 1000000 ))
queue_full2=$(cmetric porthop_dropped_packets_total 'reason="queue_full"')
log "blast: $(cat "$WORKDIR/blast.out"); client relay queue_full drops ${queue_full2:-?}, CPU ${cpu_ms} ms over ${wall_ms} ms wall"
(( ${queue_full2:-0} > ${queue_full:-0} )) || fail "20000 datagrams into a 20 Mbit/s egress behind a 4 KiB send buffer: no queue_full counted"
(( cpu_ms * 100 < wall_ms * 80 )) || fail "the client relay used ${cpu_ms} ms CPU in ${wall_ms} ms: it spins"
kill -0 "$CLIENT_PID" || fail "the client relay died"
ok "queue_full counted, no spin"
