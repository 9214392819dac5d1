#!/usr/bin/env bash
# Cross-builds porthop for arm64 with Debian's toolchain:
#
#   packaging/cross/build-cross.sh [--install-deps] [--arch arm64] [--build-dir DIR]
#
# --install-deps (what make cross does) runs packaging/install-deps.sh, which
# adds the arm64 architecture to dpkg and installs g++-aarch64-linux-gnu,
# qemu-user-static and the arm64 multiarch libraries; quiet when all is there.
# Without it a missing piece is an error naming it.
#
# Dependencies for arm64:
#   - libsodium-dev, libspdlog-dev, libfmt-dev, libsystemd-dev: Multi-Arch:
#     same, installed as :arm64 beside the host's;
#   - nlohmann-json3-dev, libcli11-dev: header-only, Architecture: all, the
#     host's serve both;
#   - libevent-dev is NOT Multi-Arch: same in bookworm (libevent-dev:arm64
#     would replace the host's), so only its arm64 runtime libraries are
#     installed, and libevent-dev:arm64 is unpacked (apt-get download,
#     dpkg-deb -x) into DIR/sysroot for its headers and .pc files.
#
# Builds DIR/porthop (default DIR: build-arm64), Release, hardened, no tests.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
arch=arm64
build_dir=""
install_deps=0
while (($#)); do
    case "$1" in
        --arch) arch=$2; shift 2 ;;
        --build-dir) build_dir=$2; shift 2 ;;
        --install-deps) install_deps=1; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "build-cross: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ "$arch" == arm64 ]] || { echo "build-cross: ARCH=$arch: only arm64 is supported" >&2; exit 2; }
triplet=aarch64-linux-gnu
build_dir=${build_dir:-$SRC/build-$arch}

# The packages come from packaging/install-deps.sh (its arm64 section).
host_packages=(g++-aarch64-linux-gnu qemu-user-static dpkg-dev)
arch_packages=(libsodium-dev libspdlog-dev libfmt-dev libsystemd-dev libevent-core-2.1-7 libevent-extra-2.1-7)
if ((install_deps)); then
    PORTHOP_NO_CROSS=0 bash "$SRC/packaging/install-deps.sh"
fi
missing=()
for p in "${host_packages[@]}" "${arch_packages[@]/%/:$arch}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ "$status" == ii* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "build-cross: missing packages: ${missing[*]}; run make cross ARCH=$arch (as root) once" >&2
    exit 1
fi

# libevent-dev:arm64, unpacked beside the build (see above). Its .pc files
# point at the sysroot's headers and at link-time symlinks to the installed
# arm64 runtime libraries.
sysroot=$build_dir/sysroot
event_version=$(dpkg-query -W -f='${Version}' "libevent-core-2.1-7:$arch")
stamp=$sysroot/.libevent-dev-$event_version
if [[ ! -f "$stamp" ]]; then
    rm -rf "$sysroot"
    mkdir -p "$sysroot"
    download=$(mktemp -d /tmp/porthop-cross.XXXXXX)
    (cd "$download" && apt-get download -qq "libevent-dev:$arch=$event_version" >/dev/null) || {
        echo "build-cross: apt-get download libevent-dev:$arch=$event_version failed" >&2; rm -rf "$download"; exit 1; }
    dpkg-deb -x "$download"/libevent-dev_*.deb "$sysroot"
    rm -rf "$download"
    libdir=$sysroot/usr/lib/$triplet
    for link in "$libdir"/*.so; do
        target=$(readlink "$link")
        ln -sfn "/usr/lib/$triplet/$(basename "$target")" "$link"
    done
    sed -i "s|^prefix=.*|prefix=$sysroot/usr|" "$libdir"/pkgconfig/*.pc
    touch "$stamp"
fi

export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/$triplet/pkgconfig:/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig
eval "$(DEB_HOST_ARCH=$arch DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    CXXFLAGS="$CXXFLAGS $CPPFLAGS" cmake -S "$SRC" -B "$build_dir" \
        -DCMAKE_TOOLCHAIN_FILE="$SRC/packaging/cross/$triplet.cmake" -DCMAKE_BUILD_TYPE=Release \
        -DPORTHOP_TESTS=OFF -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" >/dev/null
fi
cmake --build "$build_dir" --target porthop -j "${JOBS:-2}"
file "$build_dir/porthop"
