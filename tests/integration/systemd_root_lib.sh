# shellcheck shell=bash
# Sourced by tests that boot a real systemd (test_packaging_systemd.sh).
#
# ensure_systemd_root DIR PACKAGE...
#   Makes DIR a Debian 12 (bookworm) minbase root that boots under
#   systemd-nspawn and holds PACKAGE... (the .deb's Depends). Built once per
#   machine with debootstrap (about 2 minutes and 300 MB) and reused: a root is
#   complete only when DIR/.porthop-root-complete exists, which is written last,
#   so an interrupted build is thrown away and started again. Packages missing
#   from an existing root (the .deb gained a dependency) are added with apt-get
#   in a chroot. Concurrent callers serialise on DIR.lock.
#   The mirror is the host's first deb.debian.org-style "debian" source
#   (PORTHOP_DEBIAN_MIRROR overrides it).

debian_mirror() {
    if [[ -n "${PORTHOP_DEBIAN_MIRROR:-}" ]]; then echo "$PORTHOP_DEBIAN_MIRROR"; return; fi
    local uri
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -oE '(https?://[^ ]+/debian)/?( |$)' | grep -v security | head -n 1 | tr -d ' ')
    echo "${uri:-http://deb.debian.org/debian}"
}

ensure_systemd_root() {
    local dir=$1; shift
    local packages=(systemd systemd-sysv dbus "$@")
    mkdir -p "$(dirname "$dir")"
    (
        flock 9
        if [[ ! -f "$dir/.porthop-root-complete" ]]; then
            rm -rf "$dir" "$dir.partial"
            local include
            include=$(IFS=,; echo "${packages[*]}")
            echo "systemd root: debootstrap bookworm into $dir (once per machine, about 2 minutes)" >&2
            debootstrap --variant=minbase --include="$include" bookworm "$dir.partial" "$(debian_mirror)" \
                >"$dir.debootstrap.log" 2>&1 ||
                { echo "debootstrap failed, see $dir.debootstrap.log:" >&2; tail -n 20 "$dir.debootstrap.log" >&2; exit 1; }
            # No getty on a console nobody reads; the container must not wait for one.
            rm -f "$dir.partial/etc/systemd/system/getty.target.wants/"*
            echo porthop-systemd-test >"$dir.partial/etc/hostname"
            touch "$dir.partial/.porthop-root-complete"
            mv "$dir.partial" "$dir"
        fi
        local missing=() p
        for p in "${packages[@]}"; do
            # shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
            chroot "$dir" dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
        done
        if ((${#missing[@]})); then
            echo "systemd root: adding ${missing[*]} to $dir" >&2
            cp /etc/resolv.conf "$dir/etc/resolv.conf"
            chroot "$dir" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"' \
                sh "${missing[@]}" >"$dir.apt.log" 2>&1 ||
                { echo "apt-get in $dir failed, see $dir.apt.log:" >&2; tail -n 20 "$dir.apt.log" >&2; exit 1; }
            chroot "$dir" apt-get clean
        fi
    ) 9>"$dir.lock"
}

# deb_depends FILE.deb: the package names of its Depends, first alternative,
# without versions, one per line.
deb_depends() {
    dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' | grep -v '^$'
}
