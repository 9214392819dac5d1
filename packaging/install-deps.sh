#!/usr/bin/env bash
# Installs, with apt-get, every Debian package the build and the tests need.
# Quiet and quick when all of them are already there: apt-get update runs only
# when something is missing.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config
  libevent-dev nlohmann-json3-dev libgtest-dev libcli11-dev libspdlog-dev
  libsodium-dev libgcrypt20-dev libsystemd-dev prometheus-cpp-dev
  # integration tests and the lab
  nftables iproute2 ngtcp2-server ngtcp2-client prometheus socat conntrack
  iputils-ping tcpdump openssl procps
  # a VPN through the relays (test_session_vpn_tunnel): userspace WireGuard
  wireguard-go wireguard-tools
  # the real-systemd test (test_packaging_systemd): a Debian 12 root booted
  # with systemd-nspawn
  debootstrap systemd-container
  # the quiche peer (tests/quiche: npm @matrixai/quic, Node 20). NodeSource's
  # nodejs package carries npm; the quiche tests install the peer's
  # node_modules themselves (npm ci, once per machine).
  nodejs
  # packaging (make deb, test_packaging_*; busybox for OpenWrt's awk)
  dpkg-dev lintian man-db jq curl shellcheck util-linux busybox
  # make lint: clang-format, clang-tidy (shellcheck is above)
  clang-format clang-tidy
  # fuzzing (make fuzz, test_fuzz_smoke): clang with libFuzzer and sanitizers
  clang libclang-rt-14-dev
)

# arm64 cross build (make cross ARCH=arm64, test_cross_arm64): Debian's cross
# toolchain, qemu-user-static and the arm64 multiarch libraries (dpkg gets the
# arm64 architecture). libevent-dev is not Multi-Arch: same in bookworm, and
# prometheus-cpp-dev:arm64 cannot sit beside the host's (it depends on the
# civetweb binary package, which is not Multi-Arch): only their arm64 runtime
# libraries are installed here, and packaging/cross/build-cross.sh unpacks the
# two -dev packages itself.
# PORTHOP_NO_CROSS=1 leaves all of these out.
if [[ "${PORTHOP_NO_CROSS:-0}" != 1 ]]; then
  packages+=(
    g++-aarch64-linux-gnu qemu-user-static
    libsodium-dev:arm64 libspdlog-dev:arm64 libfmt-dev:arm64 libsystemd-dev:arm64
    libevent-core-2.1-7:arm64 libevent-extra-2.1-7:arm64 libevent-pthreads-2.1-7:arm64
    libprometheus-cpp-core1.0:arm64 libgcrypt20:arm64 libgpg-error0:arm64
  )
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
