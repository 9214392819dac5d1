# shellcheck shell=bash
# tests/integration/lib/paths.sh: --paths across an ISP that caps every UDP
# flow (5-tuple) from its first byte, one body for both modes;
# test_paths_flow_cap.sh runs `paths_flow_cap_test plain`,
# test_session_paths_flow_cap.sh `paths_flow_cap_test session`,
# test_paths_uncapped.sh `paths_uncapped_test`.
#
# The ISP caps each flow at 500 kbytes/s (4 Mbit/s, excess dropped) on a
# 100 Mbit/s link. The direct download, cut after PF_DIRECT_CAP seconds,
# gives the direct rate; a PF_MB MiB download through porthop with
# --paths 8 must be complete, byte-identical, on one QUIC connection, at no
# less than 5x that rate.
#
# PATHS_TABLE=1 (by hand, not in CI): also measure --paths 1, 2 and 4, and the
# same with no cap (a fresh lab), for the table in docs/design.md.
#
# Env: PORTHOP_BIN (binary), PORTHOP_SRC (repo root).

export LAB_LINK_RATE=100mbit
# shellcheck source=lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

PORTSET=20000-20099
PF_MB=20            # payload, MiB
PF_DIRECT_CAP=5     # seconds: the direct download is cut here
PF_CAP=40           # seconds: the --paths download must end by then
PF_PATHS=8
HOP_INTERVAL=5s     # the cap holds from a flow's first byte: hopping does not help

paths_flow_cap_test() {
    local mode=$1 mode_args=() d_mbps p_mbps
    case "$mode" in
        plain) ;;
        session)
            "$PORTHOP_BIN" genkey >"$WORKDIR/psk"
            chmod 600 "$WORKDIR/psk"
            mode_args=(--mode session --psk-file "$WORKDIR/psk") ;;
        *) fail "paths_flow_cap_test: mode must be plain or session, not '$mode'" ;;
    esac
    LAB_FLOW_CAP=500 lab_start
    quic_prepare "$WORKDIR" "$PF_MB"
    log "$mode mode; payload $PF_MB MiB; ISP: every UDP flow capped at 500 kbytes/s"

    lab_download direct "$VPS_IP" "$PF_DIRECT_CAP"
    d_mbps=$QUIC_MBPS
    (( $(lab_counter capped_drops) > 0 )) || fail "direct: the ISP dropped nothing: the per-flow cap does not work"
    awk -v d="$d_mbps" 'BEGIN {exit !(d <= 5)}' || fail "direct: $d_mbps Mbit/s is well above the 4 Mbit/s cap"

    lab_server_relay "${mode_args[@]}"
    lab_client_relay --paths "$PF_PATHS" "${mode_args[@]}"
    lab_download "paths$PF_PATHS" "$ROUTER_LAN_IP" "$PF_CAP"
    p_mbps=$QUIC_MBPS
    log "ISP capped drops: $(lab_counter capped_drops); client porthop_paths $(porthop_metric "$NS_ROUTER" "$CLIENT_METRICS" porthop_paths), server porthop_paths $(porthop_metric "$NS_VPS" "$SERVER_METRICS" porthop_paths)"
    [[ $QUIC_COMPLETE -eq 1 ]] || fail "$mode: transfer incomplete ($QUIC_BYTES of $QUIC_SIZE bytes in ${PF_CAP}s, gtlsclient status $QUIC_STATUS)"
    [[ $QUIC_SHA_OK -eq 1 ]] || fail "$mode: received file differs from the served one (sha256)"
    [[ $HANDSHAKES -eq 1 ]] || fail "$mode: expected one QUIC connection (1 handshake), server saw $HANDSHAKES"
    (( FLOWS >= PF_PATHS )) || fail "$mode: the ISP saw $FLOWS flows, fewer than the $PF_PATHS paths"
    awk -v p="$p_mbps" -v d="$d_mbps" 'BEGIN {exit !(p >= 5 * d)}' ||
        fail "$mode: --paths $PF_PATHS ran at $p_mbps Mbit/s, not >= 5x the direct $d_mbps Mbit/s"
    ok "$mode: --paths $PF_PATHS $p_mbps Mbit/s vs direct $d_mbps Mbit/s ($(awk -v p="$p_mbps" -v d="$d_mbps" 'BEGIN {printf "%.1f", p / d}')x)"

    [[ ${PATHS_TABLE:-0} == 1 ]] && paths_table "$mode" "${mode_args[@]}"
    return 0
}

# paths_uncapped_test: no cap, plain mode: --paths 8 is not slower than
# --paths 1 (the reordering it causes does not cost QUIC its rate). Loads on
# the shared machine move a 20 MiB download's rate by a quarter either way:
# the bound leaves room for that, not for a real loss.
paths_uncapped_test() {
    local one eight
    LAB_FLOW_CAP=0 lab_start
    quic_prepare "$WORKDIR" "$PF_MB"
    lab_server_relay
    lab_client_relay --paths 1
    lab_download paths1 "$ROUTER_LAN_IP" 30
    assert_download_ok
    one=$QUIC_MBPS
    lab_client_relay --paths 8
    lab_download paths8 "$ROUTER_LAN_IP" 30
    assert_download_ok
    eight=$QUIC_MBPS
    awk -v e="$eight" -v o="$one" 'BEGIN {exit !(e >= 0.7 * o)}' ||
        fail "uncapped: --paths 8 ran at $eight Mbit/s, well below --paths 1's $one Mbit/s"
    ok "uncapped: --paths 8 $eight Mbit/s, --paths 1 $one Mbit/s"
}

# paths_table MODE [ARGS...]: --paths 1/2/4/8 in this (capped) lab, then in
# an uncapped one; one "rate" line each.
paths_table() {
    local mode=$1 n; shift
    for n in 1 2 4 8; do
        lab_client_relay --paths "$n" "$@"
        lab_download "capped-paths$n" "$ROUTER_LAN_IP" 30
        log "RATE $mode capped paths=$n $QUIC_MBPS Mbit/s complete=$QUIC_COMPLETE"
    done
    stop_process "$CLIENT_PID"; CLIENT_PID=""
    stop_process "$SERVER_PID"; SERVER_PID=""
    "$LAB" --id "$LAB_ID" down >/dev/null 2>&1
    LAB_FLOW_CAP=0 lab_start
    lab_download uncapped-direct "$VPS_IP" 30
    log "RATE $mode uncapped direct $QUIC_MBPS Mbit/s complete=$QUIC_COMPLETE"
    lab_server_relay "$@"
    for n in 1 2 4 8; do
        lab_client_relay --paths "$n" "$@"
        lab_download "uncapped-paths$n" "$ROUTER_LAN_IP" 30
        log "RATE $mode uncapped paths=$n $QUIC_MBPS Mbit/s complete=$QUIC_COMPLETE"
    done
}
