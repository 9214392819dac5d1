#!/usr/bin/env bash
# Builds the porthop .deb with dpkg-deb (no debian/ source package needed).
#
#   packaging/deb/build-deb.sh [--binary FILE] [--arch ARCH] [--build-dir DIR] [--out DIR]
#
# Without --binary it configures and builds a hardened Release binary (tests
# off, dpkg-buildflags with hardening=+all) in --build-dir (default
# build-pkg, or build-arm64 for --arch arm64 via packaging/cross/build-cross.sh).
# With --binary it packages that file as it is (stripped on the way), which is
# what the test does with the binary ctest built.
#
# Writes OUT/porthop_VERSION_ARCH.deb (OUT defaults to the build directory)
# and prints its path on the last line of stdout.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PKG=$SRC/packaging

binary=""
arch=$(dpkg --print-architecture)
build_dir=""
out=""
while (($#)); do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --arch) arch=$2; shift 2 ;;
        --build-dir) build_dir=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "build-deb: unknown argument $1" >&2; exit 2 ;;
    esac
done

native_arch=$(dpkg --print-architecture)
case "$arch" in
    "$native_arch") triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH); strip="strip" ;;
    arm64) triplet=aarch64-linux-gnu; strip=aarch64-linux-gnu-strip ;;
    *) echo "build-deb: --arch $arch: only $native_arch and arm64 are supported" >&2; exit 2 ;;
esac

if [[ -z "$binary" ]]; then
    if [[ "$arch" == "$native_arch" ]]; then
        build_dir=${build_dir:-$SRC/build-pkg}
        # Debian's hardening flags; -Werror stays on (the project's own flags).
        eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
        CXXFLAGS="$CXXFLAGS $CPPFLAGS" cmake -S "$SRC" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
            -DPORTHOP_TESTS=OFF -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" >/dev/null
        cmake --build "$build_dir" --target porthop -j "${JOBS:-2}" >&2
    else
        build_dir=${build_dir:-$SRC/build-$arch}
        bash "$PKG/cross/build-cross.sh" --arch "$arch" --build-dir "$build_dir" >&2
    fi
    binary=$build_dir/porthop
fi
[[ -x "$binary" ]] || { echo "build-deb: $binary is not an executable" >&2; exit 2; }
out=${out:-${build_dir:-$(dirname "$binary")}}
mkdir -p "$out"

# The version the binary reports ("porthop 0.1.0"); for a cross binary, the
# project's CMake version (the binary may not run here).
if [[ "$arch" == "$native_arch" ]]; then
    version=$("$binary" --version | awk '{print $2}')
else
    version=$(sed -n 's/^project(porthop VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
fi
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~]*$ ]] || { echo "build-deb: cannot tell the version ($version)" >&2; exit 2; }

stage=$(mktemp -d /tmp/porthop-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=$root/usr/share/doc/porthop

install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$doc/examples" \
    "$root/lib/systemd/system" "$root/etc/porthop"
install -m 0755 "$binary" "$root/usr/bin/porthop"
"$strip" --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/porthop"
gzip -9n <"$PKG/porthop.1" >"$root/usr/share/man/man1/porthop.1.gz"
install -m 0644 "$PKG/examples/client.json" "$PKG/examples/server.json" "$doc/examples/"
install -m 0644 "$PKG/systemd/porthop-client@.service" "$PKG/systemd/porthop-server@.service" \
    "$root/lib/systemd/system/"
install -m 0644 "$PKG/deb/copyright" "$doc/copyright"
install -m 0644 "$SRC/docs/deployment.md" "$doc/deployment.md"
# The changelog's date is the last commit's, so two builds of one tree match.
date=$(git -C "$SRC" log -1 --format=%cD 2>/dev/null || date -R)
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$PKG/deb/changelog" | gzip -9n >"$doc/changelog.gz"
for script in postinst prerm postrm; do
    install -m 0755 "$PKG/deb/$script" "$root/DEBIAN/$script"
done

# Depends from the libraries the binary links (dpkg-shlibdeps wants a
# debian/control beside it).
mkdir -p "$stage/src/debian"
printf 'Source: porthop\n\nPackage: porthop\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && DEB_HOST_ARCH=$arch DEB_HOST_MULTIARCH=$triplet \
    dpkg-shlibdeps -O -e"$root/usr/bin/porthop" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n "$depends" ]] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: porthop
Version: $version
Architecture: $arch
Maintainer: porthop maintainers <porthop@example.org>
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Homepage: https://example.org/porthop
Description: UDP relays that carry one long UDP flow as many short ones
 porthop is a pair of UDP relays that break one long UDP flow (typically a
 QUIC connection) into many short flows, so that an ISP which throttles
 long-lived UDP flows never sees one. The client relay runs on a router or
 any box near the QUIC client and hops over a set of the server relay's
 ports; the server relay runs next to the QUIC server.
 .
 This package ships the porthop binary, porthop(1), example configurations
 and the hardened systemd units porthop-client@.service and
 porthop-server@.service, one instance per /etc/porthop/NAME.json.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb=$out/porthop_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
