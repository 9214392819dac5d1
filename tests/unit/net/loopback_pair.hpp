#pragma once
// Test fixtures for the socket layer: a UDP pair over loopback and payloads
// that tell one datagram from another.

#include <cstddef>
#include <vector>

#include "net/address.hpp"
#include "net/udp_socket.hpp"

namespace porthop::net::testing {

// A bound receiving socket and a sender connected to it on loopback.
struct LoopbackPair {
    UdpSocket rx = UdpSocket::open(AF_INET);
    UdpSocket tx = UdpSocket::open(AF_INET);
    LoopbackPair() {
        rx.bind(*Address::parse_ip("127.0.0.1", 0));
        tx.connect(rx.local_address());
    }
};

// n bytes, different for each seed.
inline std::vector<std::byte> payload(size_t n, int seed) {
    std::vector<std::byte> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = std::byte(static_cast<unsigned char>(seed + i));
    return p;
}

}  // namespace porthop::net::testing
