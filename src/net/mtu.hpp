#pragma once
// The largest UDP payload that fits a path MTU (the IP and UDP headers
// taken off). Session mode's framed datagrams and the probe's replies must
// fit it (docs/protocol.md).

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"

namespace porthop::net {

inline constexpr size_t kIpv4UdpHeaders = 20 + 8;
inline constexpr size_t kIpv6UdpHeaders = 40 + 8;

// The largest UDP payload towards `to` under `mtu`.
inline size_t max_udp_payload(uint32_t mtu, const net::Address& to) {
    size_t headers = to.is_v6() ? kIpv6UdpHeaders : kIpv4UdpHeaders;
    return mtu > headers ? mtu - headers : 0;
}

}  // namespace porthop::net
