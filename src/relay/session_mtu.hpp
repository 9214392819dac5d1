#pragma once
// Session mode's MTU rule (docs/protocol.md): a framed datagram (payload +
// crypto::kOverhead) must fit the path MTU minus the IP and UDP headers.

#include <cstddef>
#include <cstdint>

#include "net/address.hpp"

namespace porthop::relay {

inline constexpr size_t kIpv4UdpHeaders = 20 + 8;
inline constexpr size_t kIpv6UdpHeaders = 40 + 8;

// The largest UDP payload (framed datagram) towards `to` under `mtu`.
inline size_t max_framed_payload(uint32_t mtu, const net::Address& to) {
    size_t headers = to.is_v6() ? kIpv6UdpHeaders : kIpv4UdpHeaders;
    return mtu > headers ? mtu - headers : 0;
}

}  // namespace porthop::relay
