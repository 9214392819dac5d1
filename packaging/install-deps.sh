#!/usr/bin/env bash
# Installs, with apt-get, every Debian package the build and the tests need.
# Quiet and quick when all of them are already there: apt-get update runs only
# when something is missing.
set -euo pipefail

packages=(
  # build
  cmake g++ make pkg-config
  libevent-dev nlohmann-json3-dev libgtest-dev libcli11-dev libspdlog-dev
  libsodium-dev libsystemd-dev
  # integration tests and the lab
  nftables iproute2 ngtcp2-server ngtcp2-client prometheus socat conntrack
  iputils-ping tcpdump openssl procps
  # packaging (make deb, test_packaging_*): the arm64 cross toolchain is
  # installed by make cross ARCH=arm64 (packaging/cross/build-cross.sh)
  dpkg-dev lintian man-db jq curl shellcheck util-linux
)

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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
