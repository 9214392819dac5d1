# shellcheck shell=bash
# tests/integration/lib/quic_throttle.sh: real QUIC (ngtcp2 gtlsclient ->
# gtlsserver) through porthop across the throttling-ISP lab, one body for
# both modes; test_quic_throttle.sh runs `quic_throttle_test plain`,
# test_session_quic_throttle.sh `quic_throttle_test session`.
#
# Both modes: the ISP throttles a flow older than 2 s or past 1 MB to
# 500 kbit/s; the relays hop every 500 ms; a 6 MiB download through them must
# be complete and byte-identical, on one QUIC connection (one TLS handshake on
# the server), across >= 5 distinct ISP flows.
#
# plain, in addition: the same download directly is throttled (so the
# throttler, not only the relay, is proven), the hopping one is >= 5x its
# rate, and through porthop with hopping disabled (10 min) it is throttled
# like the direct one (one ISP flow, <= 2x the direct rate).
#
# session, in addition: the client relay sits behind a NAT of its own (its
# upstream traffic leaves the router masqueraded to ports 40000-44999); a
# third of the way through the download the NAT is rebound (the range becomes
# 50000-54999 and the router's conntrack table is flushed), so every mapping
# the session uses changes under it (docs/protocol.md, "Roaming"). The ISP
# must see >= 5 distinct source and destination ports and flows from both
# NAT ranges, and the relays count no auth or replay drops.
#
# Env: PORTHOP_BIN (binary), PORTHOP_SRC (repo root).

# shellcheck source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

export LAB_AGE=2s LAB_BYTES=1000000 LAB_SLOW_RATE=500kbit LAB_LINK_RATE=100mbit
PORTSET=20000-20999
QT_MB=6              # payload, MiB
QT_DIRECT_CAP=10     # seconds; the throttled transfers are cut here
QT_HOP=500ms         # below the ISP's age threshold
QT_HOP_NONE=10m      # longer than any transfer here: never hops

quic_throttle_test() {
    local mode=$1 cap mode_args=()
    case "$mode" in
        plain) cap=30 ;;
        session) cap=40; require_commands conntrack ;;
        *) fail "quic_throttle_test: mode must be plain or session, not '$mode'" ;;
    esac
    lab_start
    quic_prepare "$WORKDIR" "$QT_MB"
    log "$mode mode; payload $QT_MB MiB; ISP: >2s or >1MB -> 500kbit/s"

    if [[ $mode == plain ]]; then
        qt_direct
    else
        "$PORTHOP_BIN" genkey >"$WORKDIR/psk"
        chmod 600 "$WORKDIR/psk"
        mode_args=(--mode session --psk-file "$WORKDIR/psk")
        qt_nat_range 40000-44999
    fi
    lab_server_relay "${mode_args[@]}"
    HOP_INTERVAL=$QT_HOP lab_client_relay "${mode_args[@]}"

    [[ $mode == session ]] && qt_rebind_at_a_third "$mode" "$cap"
    lab_download "$mode" "$ROUTER_LAN_IP" "$cap"
    [[ $mode == session ]] && { wait "$REBIND_PID" || fail "NAT rebinding: $(cat "$WORKDIR/rebind.log")"; }
    log "porthop_hops_total: $(porthop_metric "$NS_ROUTER" "$CLIENT_METRICS" porthop_hops_total) (informational)"
    [[ $QUIC_COMPLETE -eq 1 ]] || fail "$mode: transfer incomplete ($QUIC_BYTES of $QUIC_SIZE bytes in ${cap}s, gtlsclient status $QUIC_STATUS)"
    [[ $QUIC_SHA_OK -eq 1 ]] || fail "$mode: received file differs from the served one (sha256)"
    [[ $HANDSHAKES -eq 1 ]] || fail "$mode: expected one QUIC connection (1 handshake), server saw $HANDSHAKES"
    (( FLOWS >= 5 )) || fail "$mode: crossed only $FLOWS distinct ISP flows (want >= 5): it did not hop"

    if [[ $mode == plain ]]; then
        qt_speedup_and_nohop
    else
        qt_session_ports_and_drops
    fi
}

# The direct download: throttled after its first megabyte. Sets D_MBPS.
qt_direct() {
    lab_download direct "$VPS_IP" "$QT_DIRECT_CAP"
    D_MBPS=$QUIC_MBPS
    [[ $HANDSHAKES -eq 1 ]] || fail "direct: expected 1 QUIC handshake, server saw $HANDSHAKES"
    [[ $THROTTLED -ge 1 ]] || fail "direct: the ISP did not throttle the flow (throttled=$THROTTLED)"
    [[ $QUIC_COMPLETE -eq 0 ]] || fail "direct: a throttled $QT_MB MiB download finished within ${QT_DIRECT_CAP}s (${QUIC_MBPS} Mbit/s): the throttler does not work"
}

# plain: the hopping rate against the direct one, then porthop without
# hopping: one long flow, throttled like the direct one.
qt_speedup_and_nohop() {
    local p_mbps=$QUIC_MBPS n_mbps
    awk -v p="$p_mbps" -v d="$D_MBPS" 'BEGIN {exit !(p >= 5 * d)}' ||
        fail "plain: $p_mbps Mbit/s is not >= 5x the direct $D_MBPS Mbit/s"
    ok "porthop $p_mbps Mbit/s vs direct $D_MBPS Mbit/s ($(awk -v p="$p_mbps" -v d="$D_MBPS" 'BEGIN {printf "%.1f", p / d}')x)"

    HOP_INTERVAL=$QT_HOP_NONE lab_client_relay
    lab_download nohop "$ROUTER_LAN_IP" "$QT_DIRECT_CAP"
    n_mbps=$QUIC_MBPS
    [[ $HANDSHAKES -eq 1 ]] || fail "no-hop: expected 1 QUIC handshake, server saw $HANDSHAKES"
    [[ $FLOWS -eq 1 ]] || fail "no-hop: expected the transfer on 1 ISP flow, saw $FLOWS"
    [[ $THROTTLED -ge 1 ]] || fail "no-hop: the ISP did not throttle the flow"
    [[ $QUIC_COMPLETE -eq 0 ]] || fail "no-hop: finished within ${QT_DIRECT_CAP}s (${n_mbps} Mbit/s): not throttled"
    awk -v n="$n_mbps" -v d="$D_MBPS" 'BEGIN {exit !(n <= 2 * d)}' ||
        fail "no-hop: $n_mbps Mbit/s is far above the direct $D_MBPS Mbit/s: not throttled like it"
    ok "without hopping $n_mbps Mbit/s, throttled like direct ($D_MBPS Mbit/s)"
}

# qt_nat_range LO-HI: the relay's own upstream traffic behind a NAT to ports
# LO-HI (the router is its own home router here); replaces the previous range.
qt_nat_range() {
    ip netns exec "$NS_ROUTER" nft -f - <<EOF
table ip porthop_relay_nat
delete table ip porthop_relay_nat
table ip porthop_relay_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "r-wan" udp dport $PORTSET masquerade to :$1
  }
}
EOF
}

# qt_rebind_at_a_third LABEL CAP: in the background, once download LABEL
# has a third of the payload, a new NAT range and the mappings flushed.
# REBIND_PID; its report in $WORKDIR/rebind.log.
qt_rebind_at_a_third() {
    local file="$WORKDIR/dl-$1/payload.bin" cap=$2
    (
        target=$(( QUIC_SIZE / 3 ))
        # shellcheck disable=SC2317  # called by wait_until
        reached_third() { (( $(file_size "$file") >= target )); }
        wait_until "$cap" reached_third || { echo "download never reached $target bytes"; exit 1; }
        qt_nat_range 50000-54999
        ip netns exec "$NS_ROUTER" conntrack -F 2>&1
        echo "rebound at $(file_size "$file") bytes"
    ) >"$WORKDIR/rebind.log" 2>&1 &
    REBIND_PID=$!
    BG_PIDS+=("$REBIND_PID")
}

# session: the ports the ISP saw, both NAT ranges, no rejected datagram.
qt_session_ports_and_drops() {
    local sports dports old_range new_range
    log "NAT: $(tr '\n' ' ' <"$WORKDIR/rebind.log")"
    # Distinct source and destination ports of the flows the ISP saw.
    ip netns exec "$NS_ISP" nft list set inet porthop_isp flows4 |
        grep -oE '[0-9.]+ \. [0-9]+ \. [0-9.]+ \. [0-9]+' | awk '{print $3, $7}' | sort -u >"$WORKDIR/flows"
    sports=$(awk '{print $1}' "$WORKDIR/flows" | sort -u | wc -l)
    dports=$(awk '{print $2}' "$WORKDIR/flows" | sort -u | wc -l)
    new_range=$(awk '$1 >= 50000 && $1 <= 54999' "$WORKDIR/flows" | wc -l)
    old_range=$(awk '$1 >= 40000 && $1 <= 44999' "$WORKDIR/flows" | wc -l)
    log "ISP flows: $sports source ports, $dports destination ports; $old_range flows from the first NAT range, $new_range from the second"
    log "server drops: auth $(qt_sdrop auth) replay $(qt_sdrop replay) oversize $(qt_sdrop oversize); client drops: auth $(qt_cdrop auth) replay $(qt_cdrop replay) oversize $(qt_cdrop oversize)"
    (( sports >= 5 )) || fail "the ISP saw only $sports distinct source ports (want >= 5): the source port does not hop"
    (( dports >= 5 )) || fail "the ISP saw only $dports distinct destination ports (want >= 5)"
    (( old_range >= 1 && new_range >= 1 )) || fail "the NAT rebinding did not show at the ISP ($old_range flows before, $new_range after)"
    [[ $(qt_sdrop auth) == 0 && $(qt_sdrop replay) == 0 ]] || fail "the server relay rejected datagrams of the legitimate session"
}
qt_sdrop() { smetric porthop_dropped_packets_total "reason=\"$1\""; }
qt_cdrop() { cmetric porthop_dropped_packets_total "reason=\"$1\""; }
