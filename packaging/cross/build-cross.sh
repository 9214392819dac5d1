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
#   - libevent-dev, libgcrypt20-dev and libgpg-error-dev are NOT Multi-Arch:
#     same in bookworm (the arm64 one would replace the host's), and
#     prometheus-cpp-dev:arm64 depends on the civetweb binary package, which
#     would replace the host's civetweb and with it the host's
#     prometheus-cpp-dev. So only their arm64 runtime libraries are
#     installed, and the four -dev packages are unpacked
#     (apt-get download, dpkg-deb -x) into DIR/sysroot for their headers,
#     .pc files and link-time symlinks. prometheus-cpp's own CMake package
#     would look for the arm64 civetweb, curl and zlib of its pull and push
#     libraries, which porthop does not link: a small CMake package in the
#     sysroot declares prometheus-cpp::core alone.
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
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "build-cross: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ "$arch" == arm64 ]] || { echo "build-cross: ARCH=$arch: only arm64 is supported" >&2; exit 2; }
triplet=aarch64-linux-gnu
build_dir=${build_dir:-$SRC/build-$arch}

# The packages come from packaging/install-deps.sh (its arm64 section).
host_packages=(g++-aarch64-linux-gnu qemu-user-static dpkg-dev)
arch_packages=(libsodium-dev libspdlog-dev libfmt-dev libsystemd-dev libevent-core-2.1-7 libevent-extra-2.1-7
    libprometheus-cpp-core1.0 libgcrypt20 libgpg-error0)
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

# libevent-dev:arm64 and prometheus-cpp-dev:arm64, unpacked beside the build
# (see above), each at the version of its installed arm64 runtime library.
# Their .pc files point at the sysroot's headers, their .so symlinks at the
# installed arm64 runtime libraries.
sysroot=$build_dir/sysroot
libdir=$sysroot/usr/lib/$triplet
dev_packages=("libevent-dev=libevent-core-2.1-7" "prometheus-cpp-dev=libprometheus-cpp-core1.0"
    "libgcrypt20-dev=libgcrypt20" "libgpg-error-dev=libgpg-error0")
versions=""
for pair in "${dev_packages[@]}"; do
    versions+="-${pair%%=*}_$(dpkg-query -W -f='${Version}' "${pair#*=}:$arch")"
done
stamp=$sysroot/.unpacked$versions
if [[ ! -f "$stamp" ]]; then
    rm -rf "$sysroot"
    mkdir -p "$sysroot"
    download=$(mktemp -d /tmp/porthop-cross.XXXXXX)
    for pair in "${dev_packages[@]}"; do
        dev=${pair%%=*}
        version=$(dpkg-query -W -f='${Version}' "${pair#*=}:$arch")
        (cd "$download" && apt-get download -qq "$dev:$arch=$version" >/dev/null) || {
            echo "build-cross: apt-get download $dev:$arch=$version failed" >&2; rm -rf "$download"; exit 1; }
        dpkg-deb -x "$download/${dev}_"*.deb "$sysroot"
    done
    rm -rf "$download"
    for link in "$libdir"/*.so; do
        target=$(readlink "$link")
        ln -sfn "/usr/lib/$triplet/$(basename "$target")" "$link"
    done
    sed -i "s|^prefix=.*|prefix=$sysroot/usr|" "$libdir"/pkgconfig/*.pc
    # gpg-error.h sits in the multiarch include directory, which the host's
    # .pc leaves to the compiler's default path: here it is the sysroot's.
    sed -i "s|^Cflags:.*|Cflags: -I\${includedir}/$triplet|" "$libdir"/pkgconfig/gpg-error.pc
    rm -rf "$libdir/cmake/prometheus-cpp"
    mkdir -p "$sysroot/cmake/prometheus-cpp"
    cat >"$sysroot/cmake/prometheus-cpp/prometheus-cpp-config.cmake" <<EOF
# Written by build-cross.sh: prometheus-cpp's core for $arch, without the pull
# and push libraries (and their civetweb, curl and zlib) of its own package.
if(NOT TARGET prometheus-cpp::core)
  add_library(prometheus-cpp::core SHARED IMPORTED)
  set_target_properties(prometheus-cpp::core PROPERTIES
    IMPORTED_LOCATION "$libdir/libprometheus-cpp-core.so"
    INTERFACE_INCLUDE_DIRECTORIES "$sysroot/usr/include")
endif()
EOF
    touch "$stamp"
fi

export PKG_CONFIG_LIBDIR=$sysroot/usr/lib/$triplet/pkgconfig:/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig
eval "$(DEB_HOST_ARCH=$arch DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
# Configured once; again when the cache predates the sysroot's prometheus-cpp
# package (a build directory from before porthop used it).
if ! grep -qx "prometheus-cpp_DIR:PATH=$sysroot/cmake/prometheus-cpp" "$build_dir/CMakeCache.txt" 2>/dev/null; then
    CXXFLAGS="$CXXFLAGS $CPPFLAGS" cmake -S "$SRC" -B "$build_dir" \
        -DCMAKE_TOOLCHAIN_FILE="$SRC/packaging/cross/$triplet.cmake" -DCMAKE_BUILD_TYPE=Release \
        -DPORTHOP_TESTS=OFF -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" \
        -Dprometheus-cpp_DIR="$sysroot/cmake/prometheus-cpp" >/dev/null
fi
cmake --build "$build_dir" --target porthop -j "${JOBS:-2}"
file "$build_dir/porthop"
