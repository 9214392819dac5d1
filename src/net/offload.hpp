#pragma once
// UDP segmentation offload. GSO (UDP_SEGMENT, Linux 4.18): one sendmsg
// carries a run of same-size datagrams to one destination, and the stack
// (route, IP and UDP headers, device queue) is traversed once for the run
// instead of once per datagram; the segments are cut at the device or, on a
// virtual link, not at all. GRO (UDP_GRO, Linux 5.0): the kernel may hand a
// socket several datagrams of one flow in one buffer, cut every
// segment-size bytes. A socket where either is missing works exactly as
// without them: every function here tells the caller when to fall back.

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/batch_io.hpp"

namespace porthop::net {

// UDP_MAX_SEGMENTS of the kernels that have UDP_SEGMENT (newer ones allow
// 128; 64 is accepted by all).
inline constexpr size_t kMaxSegments = 64;
// One GSO message is one UDP datagram for the stack: an IPv4 UDP payload
// is at most 65507 bytes.
inline constexpr size_t kMaxGsoBytes = 65507;
// Room a UDP_SEGMENT control message needs.
inline constexpr size_t kSegmentControlSize = CMSG_SPACE(sizeof(uint16_t));

// True when the kernel segments this socket's sends (UDP_SEGMENT is known).
bool gso_supported(const UdpSocket& socket);
// Asks the kernel for coalesced receives; false (nothing changed) when it
// cannot.
bool enable_gro(const UdpSocket& socket);

// The segment size the kernel reported with a received message (its UDP_GRO
// control message), or 0: one datagram.
uint32_t gro_segment_size(const msghdr& h);

// How many datagrams, from msgs[0] on, one GSO message can carry: same
// destination and source address, every one the size of the first except
// the last, which may be shorter; within kMaxSegments and kMaxGsoBytes.
// Datagrams that are already coalesced (segment != 0) travel alone: 1.
size_t gso_run(std::span<const OutDatagram> msgs);

// Writes one control message of `info` at `control`; returns the bytes used.
template <typename Info>
size_t put_control(std::byte* control, int level, int type, const Info& info) {
    auto* c = reinterpret_cast<cmsghdr*>(control);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    return CMSG_SPACE(sizeof info);
}

// Writes a UDP_SEGMENT control message at `control` (kSegmentControlSize
// bytes); returns the bytes used.
size_t put_segment_size(std::byte* control, uint16_t segment);

}  // namespace porthop::net
