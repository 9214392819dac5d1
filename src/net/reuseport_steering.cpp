#include "net/reuseport_steering.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "net/udp_socket.hpp"

namespace porthop::net {

namespace {

// Fibonacci hashing: the multiply spreads every input bit into the upper
// half, so addresses that differ in one low bit (10.0.0.1, 10.0.0.2) are
// spread as well as random ones. cBPF arithmetic is 32-bit, as here.
constexpr uint32_t kMultiplier = 0x9E3779B1u;
constexpr uint32_t kShift = 16;

uint32_t mix(uint32_t value, uint32_t workers) { return ((value * kMultiplier) >> kShift) % workers; }

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

// A = the 32-bit big-endian word at offset k of the packet (the kernel
// converts it to host order, as ntohl would).
sock_filter load_word(int32_t k) { return stmt(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(k)); }
// X = A; A = word at k; A ^= X.
void xor_word(SteeringProgram& p, int32_t k) {
    p.push_back(stmt(BPF_MISC | BPF_TAX, 0));
    p.push_back(load_word(k));
    p.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));
}
void mix_and_return(SteeringProgram& p, uint32_t workers) {
    p.push_back(stmt(BPF_ALU | BPF_MUL | BPF_K, kMultiplier));
    p.push_back(stmt(BPF_ALU | BPF_RSH | BPF_K, kShift));
    p.push_back(stmt(BPF_ALU | BPF_MOD | BPF_K, workers));
    p.push_back(stmt(BPF_RET | BPF_A, 0));
}

uint32_t word(const uint8_t* bytes) {
    return uint32_t(bytes[0]) << 24 | uint32_t(bytes[1]) << 16 | uint32_t(bytes[2]) << 8 | uint32_t(bytes[3]);
}

}  // namespace

SteeringProgram steer_by_source_ip(uint32_t workers) {
    if (workers == 0) workers = 1;
    SteeringProgram p;
    // IP version: the high nibble of the network header's first byte.
    p.push_back(stmt(BPF_LD | BPF_B | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF)));
    p.push_back(stmt(BPF_ALU | BPF_RSH | BPF_K, 4));
    p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 2, 0));  // IPv6: skip the IPv4 load and its jump
    p.push_back(load_word(SKF_NET_OFF + 12));               // IPv4 saddr
    size_t over_v6 = p.size();
    p.push_back(jump(BPF_JMP | BPF_JA, 0, 0, 0));  // target set below
    p.push_back(load_word(SKF_NET_OFF + 8));       // IPv6 saddr, four words
    xor_word(p, SKF_NET_OFF + 12);
    xor_word(p, SKF_NET_OFF + 16);
    xor_word(p, SKF_NET_OFF + 20);
    p[over_v6].k = static_cast<uint32_t>(p.size() - over_v6 - 1);
    mix_and_return(p, workers);
    return p;
}

SteeringProgram steer_by_payload_id(uint32_t workers, uint8_t version_mask, uint8_t version, uint32_t id_offset) {
    if (workers == 0) workers = 1;
    SteeringProgram p;
    p.push_back(stmt(BPF_LD | BPF_B | BPF_ABS, 0));
    p.push_back(stmt(BPF_ALU | BPF_AND | BPF_K, version_mask));
    size_t check = p.size();
    p.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, version, 0, 0));  // not our version: to the last instruction
    // A datagram too short for these loads ends the program with 0.
    p.push_back(load_word(static_cast<int32_t>(id_offset)));
    xor_word(p, static_cast<int32_t>(id_offset + 4));
    mix_and_return(p, workers);
    p[check].jf = static_cast<uint8_t>(p.size() - check - 1);
    p.push_back(stmt(BPF_RET | BPF_K, 0));
    return p;
}

uint32_t worker_for_ip(const Address& source, uint32_t workers) {
    if (workers <= 1) return 0;
    uint32_t folded = 0;
    if (source.family() == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(source.sockaddr_ptr());
        folded = ntohl(in->sin_addr.s_addr);
    } else {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(source.sockaddr_ptr());
        const uint8_t* b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            folded = word(b + 12);  // an IPv4 datagram on a dual-stack socket
        } else {
            folded = word(b) ^ word(b + 4) ^ word(b + 8) ^ word(b + 12);
        }
    }
    return mix(folded, workers);
}

uint32_t worker_for_id(uint64_t id, uint32_t workers) {
    if (workers <= 1) return 0;
    return mix(static_cast<uint32_t>(id >> 32) ^ static_cast<uint32_t>(id), workers);
}

void enable_reuseport(int fd) {
    int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        throw NetError(std::string("cannot set SO_REUSEPORT: ") + std::strerror(errno));
    }
}

int attach_steering(int fd, const SteeringProgram& program) {
    sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
    if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) != 0) return errno;
    return 0;
}

}  // namespace porthop::net
