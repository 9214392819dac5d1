#pragma once
// Batched datagram I/O with recvmmsg / sendmmsg: one system call moves up to
// kBatchSize datagrams. Payloads are received into buffers owned by RecvBatch
// and sent from wherever the caller points, so a relayed datagram is never
// copied on the way through.

#include <netinet/in.h>
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
inline constexpr size_t kReceiveCapacity = 65536;
// Room kept free before and after each received payload, so that a relay can
// prepend a header and append a tag in place (session mode) without a copy.
inline constexpr size_t kHeadroom = 64;
inline constexpr size_t kTailroom = 64;

// A datagram to send: its payload and destination (neither owned); no
// destination for a connected socket. `from`, when set, is the local IP to
// send from (for a socket bound to a wildcard address: reply from the
// address the peer wrote to, or a connected client drops the reply).
// `segment` != 0: the payload is several datagrams of that size (the last
// may be shorter), as a GRO receive delivered them (RecvBatch::out).
//
// No member initialisers: the relays keep an array of 64 on the stack per
// batch, which would otherwise be zeroed on every wake-up; aggregate
// initialisation ({data, size}) still zeroes the members it leaves out.
struct OutDatagram {
    const std::byte* data;
    uint32_t size;
    const sockaddr* to;
    socklen_t to_len;
    const sockaddr* from;
    uint32_t segment;

    // Datagrams on the wire.
    size_t datagrams() const { return segment == 0 || size == 0 ? 1 : (size + segment - 1) / segment; }

    static OutDatagram make(std::span<const std::byte> payload, const Address* to, const Address* from = nullptr) {
        return {payload.data(),
                static_cast<uint32_t>(payload.size()),
                to ? to->sockaddr_ptr() : nullptr,
                to ? to->length() : socklen_t{0},
                from && !from->empty() ? from->sockaddr_ptr() : nullptr,
                0};
    }
};

// Asks the kernel to report, with each datagram, the local address it was
// sent to (IP_PKTINFO / IPV6_RECVPKTINFO). (Not the drop count
// SO_RXQ_OVFL: a control message on every datagram; UdpSocket::kernel_drops
// asks for it once in a while instead.)
void enable_receive_info(const UdpSocket& socket, bool destination);

// Turns on what the kernel offers of GSO for the socket's sends and, when
// `coalesce_receives` (the caller forwards payloads without looking into
// them), of GRO for its receives; GRO only where GSO works, so that a
// coalesced datagram leaves as it came. Returns whether GRO is on.
bool enable_offload(UdpSocket& socket, bool coalesce_receives);

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
        return {slot(i), msgs_[i].msg_len < kReceiveCapacity ? msgs_[i].msg_len : kReceiveCapacity};
    }
    // The same bytes, writable: [data(i) - kHeadroom, data(i) + kReceiveCapacity +
    // kTailroom) belongs to datagram i, for in-place framing.
    std::span<std::byte> payload(size_t i) {
        return {slot(i), msgs_[i].msg_len < kReceiveCapacity ? msgs_[i].msg_len : kReceiveCapacity};
    }
    std::byte* data(size_t i) { return slot(i); }
    const Address& source(size_t i) const { return sources_[i]; }
    // != 0: datagram i is several datagrams of the flow coalesced by GRO,
    // this many bytes each (the last may be shorter).
    uint32_t segment_size(size_t i) const;
    size_t datagrams(size_t i) const {
        uint32_t segment = segment_size(i);
        return segment == 0 ? 1 : (payload(i).size() + segment - 1) / segment;
    }
    // The last of the datagrams entry i holds (entry i itself unless GRO
    // coalesced several): one whole datagram, to keep or send alone.
    std::span<const std::byte> last_datagram(size_t i) const {
        std::span<const std::byte> p = payload(i);
        uint32_t segment = segment_size(i);
        return segment == 0 || p.size() <= segment ? p : p.subspan((datagrams(i) - 1) * segment);
    }
    // Datagram i, to be sent on as it came (coalesced or not).
    OutDatagram out(size_t i, const Address* to, const Address* from = nullptr) const {
        OutDatagram d = OutDatagram::make(payload(i), to, from);
        d.segment = segment_size(i);
        return d;
    }
    // The datagram was larger than kReceiveCapacity and was cut.
    bool truncated(size_t i) const { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
    // The local IP datagram i was sent to (port 0); empty unless
    // enable_receive_info(socket, true).
    Address destination(size_t i) const;

private:
    static constexpr size_t kControlSize = 128;
    static constexpr size_t kStride = kHeadroom + kReceiveCapacity + kTailroom;
    std::byte* slot(size_t i) const { return buffers_.get() + i * kStride + kHeadroom; }
    void reset(size_t n);
    std::unique_ptr<std::byte[]> buffers_;
    size_t used_ = 0;  // headers the kernel wrote in the last receive
    std::array<mmsghdr, kBatchSize> msgs_{};
    std::array<iovec, kBatchSize> iovs_{};
    std::array<Address, kBatchSize> sources_{};
    alignas(cmsghdr) std::array<std::array<std::byte, kControlSize>, kBatchSize> control_{};
};

// An error the kernel reports for an earlier datagram from an ICMP message
// (port unreachable, no route): that datagram was lost, the socket is fine.
inline bool is_icmp_error(int err) {
    return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN || err == EMSGSIZE ||
           err == ENOPROTOOPT || err == EPROTO;
}

// Counts are of datagrams on the wire (a coalesced OutDatagram counts its
// segments); `consumed` is of OutDatagrams.
struct SendResult {
    size_t sent = 0;  // handed to the kernel
    size_t sent_bytes = 0;
    size_t failed = 0;         // refused by the kernel for good (ICMP error, EMSGSIZE, no route): skipped
    size_t consumed = 0;       // msgs[0, consumed) are done with, sent or failed
    bool would_block = false;  // stopped at EAGAIN: msgs[consumed ...] were not sent
    int last_error = 0;
};

// Sends msgs in order until all are consumed or the socket's buffer is full.
// With socket.gso(), each run of datagrams that gso_run() allows leaves in
// one GSO message; when the kernel refuses GSO on this socket (EIO: no
// checksum offload on the way out; EINVAL: a segment above the path MTU),
// GSO is turned off for the socket and the run is sent datagram by
// datagram.
SendResult send_batch(UdpSocket& socket, std::span<const OutDatagram> msgs);

}  // namespace porthop::net
