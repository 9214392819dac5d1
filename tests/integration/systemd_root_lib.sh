# shellcheck shell=bash
# Sourced by tests that boot a real systemd (test_packaging_systemd.sh).
#
# ensure_systemd_root DIR PACKAGE...
#   Makes DIR a Debian 12 (bookworm) minbase root that boots under
#   systemd-nspawn and holds PACKAGE... (the .deb's Depends). Built once per
#   machine with debootstrap (about 2-3 minutes, 250 MB) and reused: a root is
#   complete only when DIR/.porthop-root-complete exists, which is written last,
#   so an interrupted build is thrown away and started again. PACKAGE... are
#   installed with apt-get in a chroot when the root does not satisfy them yet
#   (first run, or the .deb gained a dependency). DIR.lock: the caller holds
#   it shared until it exits (its containers boot DIR as a read-only lower
#   layer); building or changing DIR takes it exclusively.
#   The mirror is the host's first deb.debian.org-style "debian" source
#   (PORTHOP_DEBIAN_MIRROR overrides it).

debian_mirror() {
    if [[ -n "${PORTHOP_DEBIAN_MIRROR:-}" ]]; then echo "$PORTHOP_DEBIAN_MIRROR"; return; fi
    local uri
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE '(https?://[^ ]+/debian)/?( |$)' | grep -v security | head -n 1 | tr -d ' ')
    echo "${uri:-http://deb.debian.org/debian}"
}

# root_ready DIR PACKAGE...: complete, and apt (offline, simulated) has
# nothing to install. apt, not dpkg-query: a Depends may name a virtual
# package (libspdlog1.10-fmt9 is provided by libspdlog1.10).
root_ready() {
    local dir=$1 plan; shift
    [[ -f "$dir/.porthop-root-complete" ]] &&
        plan=$(chroot "$dir" apt-get install -s --no-install-recommends "$@" 2>&1) &&
        ! grep -q '^Inst ' <<<"$plan"
}

ensure_systemd_root() {
    local dir=$1; shift
    local base=(systemd systemd-sysv dbus)
    mkdir -p "$(dirname "$dir")"
    # Held shared until the caller exits: booted containers use DIR as their
    # overlay's lower layer, which must not change under them; building or
    # adding packages takes it exclusively.
    exec {SYSTEMD_ROOT_LOCK}>"$dir.lock"
    flock -s "$SYSTEMD_ROOT_LOCK"
    root_ready "$dir" "$@" && return 0
    flock -x "$SYSTEMD_ROOT_LOCK"
    if [[ ! -f "$dir/.porthop-root-complete" ]]; then
        rm -rf "$dir" "$dir.partial"
        echo "systemd root: debootstrap bookworm into $dir (once per machine, about 2 minutes)" >&2
        debootstrap --variant=minbase --include="$(IFS=,; echo "${base[*]}")" bookworm "$dir.partial" \
            "$(debian_mirror)" >"$dir.debootstrap.log" 2>&1 ||
            { echo "debootstrap failed, see $dir.debootstrap.log:" >&2; tail -n 20 "$dir.debootstrap.log" >&2; return 1; }
        # No getty on a console nobody reads; the container must not wait for one.
        rm -f "$dir.partial/etc/systemd/system/getty.target.wants/"*
        echo porthop-systemd-test >"$dir.partial/etc/hostname"
        touch "$dir.partial/.porthop-root-complete"
        mv "$dir.partial" "$dir"
    fi
    if ! root_ready "$dir" "$@"; then
        echo "systemd root: adding $* to $dir" >&2
        cp /etc/resolv.conf "$dir/etc/resolv.conf"
        chroot "$dir" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"' \
            sh "$@" >"$dir.apt.log" 2>&1 ||
            { echo "apt-get in $dir failed, see $dir.apt.log:" >&2; tail -n 20 "$dir.apt.log" >&2; return 1; }
        chroot "$dir" apt-get clean
    fi
    flock -s "$SYSTEMD_ROOT_LOCK"
}

# deb_depends FILE.deb: the package names of its Depends, first alternative,
# without versions, one per line.
deb_depends() {
    dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -v '^$'
}
