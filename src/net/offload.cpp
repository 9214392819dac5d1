#include "net/offload.hpp"

#include <linux/udp.h>
#include <netinet/in.h>

#include <cstring>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace porthop::net {

bool gso_supported(const UdpSocket& socket) {
    // A kernel without UDP_SEGMENT (or a socket that is not UDP) refuses
    // the read with ENOPROTOOPT / EOPNOTSUPP.
    int segment = 0;
    socklen_t len = sizeof segment;
    return ::getsockopt(socket.fd(), SOL_UDP, UDP_SEGMENT, &segment, &len) == 0;
}

bool enable_gro(const UdpSocket& socket) {
    int on = 1;
    return ::setsockopt(socket.fd(), SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
}

uint32_t gro_segment_size(const msghdr& h) {
    if (h.msg_controllen == 0) return 0;
    auto& m = const_cast<msghdr&>(h);
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int segment;
            std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
            return segment > 0 ? static_cast<uint32_t>(segment) : 0;
        }
    }
    return 0;
}

namespace {

bool same_address(const sockaddr* a, socklen_t a_len, const sockaddr* b, socklen_t b_len) {
    if (a == b) return a_len == b_len;
    if (a == nullptr || b == nullptr || a_len != b_len) return false;
    return std::memcmp(a, b, a_len) == 0;
}

socklen_t source_length(const sockaddr* from) {
    if (from == nullptr) return 0;
    return from->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

}  // namespace

size_t gso_run(std::span<const OutDatagram> msgs) {
    if (msgs.empty()) return 0;
    const OutDatagram& first = msgs[0];
    if (first.segment != 0 || first.size == 0) return 1;
    size_t total = first.size;
    size_t n = 1;
    socklen_t from_len = source_length(first.from);
    while (n < msgs.size() && n < kMaxSegments) {
        const OutDatagram& d = msgs[n];
        if (d.segment != 0 || d.size == 0 || d.size > first.size || total + d.size > kMaxGsoBytes) break;
        if (!same_address(d.to, d.to_len, first.to, first.to_len)) break;
        if (!same_address(d.from, source_length(d.from), first.from, from_len)) break;
        total += d.size;
        ++n;
        if (d.size < first.size) break;  // a shorter one ends the run
    }
    return n;
}

size_t put_segment_size(std::byte* control, uint16_t segment) {
    return put_control(control, SOL_UDP, UDP_SEGMENT, segment);
}

}  // namespace porthop::net
