#pragma once
// Steering a SO_REUSEPORT group (one socket per worker on the same port) with
// a classic BPF program: the kernel runs it for every datagram that reaches
// the port and delivers the datagram to the socket at the index it returns,
// the index being the order in which the sockets joined the group (bound).
// For a UDP socket the program's offset 0 is the first byte of the UDP
// payload; negative offsets from SKF_NET_OFF reach the IP header. An index
// out of range (never returned here) would fall back to the kernel's hash.
//
// The worker_for_* functions compute in user space what the program computes
// in the kernel, bit for bit: the tests and the state file use them to know
// where a peer's datagrams will land.

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "net/address.hpp"

namespace porthop::net {

using SteeringProgram = std::vector<sock_filter>;

// Every datagram from one source IP to index hash(IP) % workers (IPv4, and
// IPv6 by the XOR of its four 32-bit words; an IPv4 datagram reaching a
// dual-stack socket counts as IPv4).
SteeringProgram steer_by_source_ip(uint32_t workers);

// Datagrams whose first payload byte, AND `version_mask`, is `version` go to
// hash(the 64-bit big-endian value at `id_offset`) % workers; any other
// datagram (another version, or too short to hold the id) goes to index 0.
// The mask lets one program take every version that carries a session id.
SteeringProgram steer_by_payload_id(uint32_t workers, uint8_t version_mask, uint8_t version, uint32_t id_offset);

uint32_t worker_for_ip(const Address& source, uint32_t workers);
uint32_t worker_for_id(uint64_t id, uint32_t workers);

// SO_REUSEPORT on an unbound socket: it may then share its address and port
// with other sockets of this user that did the same. Throws NetError.
void enable_reuseport(int fd);

// Attaches `program` to the reuseport group of `fd` (a socket with
// SO_REUSEPORT, bound or not). Returns 0, or the errno of the kernel's
// refusal.
int attach_steering(int fd, const SteeringProgram& program);

}  // namespace porthop::net
