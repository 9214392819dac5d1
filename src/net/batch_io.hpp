#pragma once
// Batched datagram I/O with recvmmsg / sendmmsg: one system call moves up to
// kBatchSize datagrams. Payloads are received into buffers owned by RecvBatch
// and sent from wherever the caller points, so a relayed datagram is never
// copied on the way through.

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "net/address.hpp"
#include "net/udp_socket.hpp"

namespace porthop::net {

inline constexpr size_t kBatchSize = 64;
// The largest UDP payload over IPv4 is 65507 bytes; one more byte lets
// MSG_TRUNC flag anything larger (an IPv6 jumbogram) instead of cutting it.
inline constexpr size_t kMaxDatagram = 65536;

// A datagram to send: its payload and destination (neither owned); no
// destination for a connected socket.
struct OutDatagram {
    const std::byte* data = nullptr;
    uint32_t size = 0;
    const sockaddr* to = nullptr;
    socklen_t to_len = 0;

    static OutDatagram make(std::span<const std::byte> payload, const Address* to) {
        return {payload.data(), static_cast<uint32_t>(payload.size()), to ? to->sockaddr_ptr() : nullptr,
                to ? to->length() : socklen_t{0}};
    }
};

class RecvBatch {
public:
    RecvBatch();
    RecvBatch(const RecvBatch&) = delete;
    RecvBatch& operator=(const RecvBatch&) = delete;

    struct Result {
        size_t count = 0;  // datagrams now in the batch
        int error = 0;     // errno of a failed call other than EAGAIN (e.g. ECONNREFUSED from ICMP), else 0
    };
    // Receives what the socket has, up to kBatchSize datagrams; never blocks.
    Result receive(const UdpSocket& socket);

    std::span<const std::byte> payload(size_t i) const {
        return {slot(i), msgs_[i].msg_len < kMaxDatagram ? msgs_[i].msg_len : kMaxDatagram};
    }
    const Address& source(size_t i) const { return sources_[i]; }
    // The datagram was larger than kMaxDatagram and was cut.
    bool truncated(size_t i) const { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

private:
    const std::byte* slot(size_t i) const { return buffers_.get() + i * kMaxDatagram; }
    std::unique_ptr<std::byte[]> buffers_;
    std::array<mmsghdr, kBatchSize> msgs_{};
    std::array<iovec, kBatchSize> iovs_{};
    std::array<Address, kBatchSize> sources_{};
};

// An error the kernel reports for an earlier datagram from an ICMP message
// (port unreachable, no route): that datagram was lost, the socket is fine.
inline bool is_icmp_error(int err) {
    return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN ||
           err == EMSGSIZE || err == ENOPROTOOPT || err == EPROTO;
}

struct SendResult {
    size_t sent = 0;         // handed to the kernel, in order from the first
    size_t sent_bytes = 0;
    size_t failed = 0;       // refused by the kernel for good (ICMP error, EMSGSIZE, no route): skipped
    bool would_block = false;  // stopped at EAGAIN: msgs[sent + failed ...] were not sent
    int last_error = 0;
    size_t consumed() const { return sent + failed; }
};

// Sends msgs in order until all are consumed or the socket's buffer is full.
SendResult send_batch(const UdpSocket& socket, std::span<const OutDatagram> msgs);

}  // namespace porthop::net
