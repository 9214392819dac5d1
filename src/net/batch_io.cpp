#include "net/batch_io.hpp"

#include <algorithm>
#include <cstring>

#include "net/offload.hpp"

namespace porthop::net {

void enable_receive_info(const UdpSocket& socket, bool destination) {
    if (!destination) return;
    int on = 1;
    // An IPv6 socket may also carry IPv4 (mapped) traffic: ask for both.
    ::setsockopt(socket.fd(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    if (socket.local_address().is_v6()) ::setsockopt(socket.fd(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
}

RecvBatch::RecvBatch() : buffers_(std::make_unique_for_overwrite<std::byte[]>(kBatchSize * kStride)) {
    for (size_t i = 0; i < kBatchSize; ++i) {
        iovs_[i].iov_base = slot(i);
        iovs_[i].iov_len = kReceiveCapacity;
        msghdr& h = msgs_[i].msg_hdr;
        h.msg_name = sources_[i].sockaddr_ptr();
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
        h.msg_control = control_[i].data();
    }
    reset(kBatchSize);
}

void RecvBatch::reset(size_t n) {
    // The kernel writes back only these three fields, and only in the headers
    // of the datagrams it returned: restoring just those keeps a batch of one
    // datagram from paying for 64.
    for (size_t i = 0; i < n; ++i) {
        msghdr& h = msgs_[i].msg_hdr;
        h.msg_namelen = Address::capacity();
        h.msg_controllen = kControlSize;
        h.msg_flags = 0;
    }
}

RecvBatch::Result RecvBatch::receive(const UdpSocket& socket) {
    reset(used_);
    used_ = 0;
    for (;;) {
        int n = ::recvmmsg(socket.fd(), msgs_.data(), kBatchSize, MSG_DONTWAIT, nullptr);
        if (n >= 0) {
            used_ = static_cast<size_t>(n);
            return {used_, 0};
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, 0};
        used_ = 1;  // the first header may have been written before the error
        return {0, errno};
    }
}

Address RecvBatch::destination(size_t i) const {
    auto& h = const_cast<msghdr&>(msgs_[i].msg_hdr);
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            sockaddr_in sa{};
            sa.sin_family = AF_INET;
            sa.sin_addr = info.ipi_addr;
            return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof info);
            sockaddr_in6 sa{};
            sa.sin6_family = AF_INET6;
            sa.sin6_addr = info.ipi6_addr;
            return Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        }
    }
    return Address{};
}

uint32_t RecvBatch::segment_size(size_t i) const {
    uint32_t segment = gro_segment_size(msgs_[i].msg_hdr);
    // One segment's worth or less is a single datagram.
    return segment != 0 && payload(i).size() > segment ? segment : 0;
}

bool enable_offload(UdpSocket& socket, bool coalesce_receives) {
    socket.set_gso(gso_supported(socket));
    return coalesce_receives && socket.gso() && enable_gro(socket);
}

namespace {

constexpr size_t kSendControlSize = CMSG_SPACE(sizeof(in6_pktinfo)) + kSegmentControlSize;

// Writes the source-address control message for `from` at `control`;
// returns the bytes used (0: no source chosen).
size_t put_source(std::byte* control, const sockaddr* from) {
    if (from == nullptr) return 0;
    if (from->sa_family == AF_INET) {
        in_pktinfo info{};
        info.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(from)->sin_addr;
        return put_control(control, IPPROTO_IP, IP_PKTINFO, info);
    }
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(from)->sin6_addr;
    return put_control(control, IPPROTO_IPV6, IPV6_PKTINFO, info);
}

// Where the sending stands: msgs[index], `offset` bytes of it already sent
// (only a coalesced datagram sent segment by segment stops in the middle).
// (No member initialisers: send_batch's array of 64 is not zeroed per call.)
struct Cursor {
    size_t index;
    size_t offset;
};

// One message of a sendmmsg call: what it carries and where the cursor is
// once it is sent.
struct Planned {
    size_t datagrams;
    size_t bytes;
    bool gso;
    Cursor end;
};

}  // namespace

SendResult send_batch(UdpSocket& socket, std::span<const OutDatagram> msgs) {
    SendResult result;
    std::array<mmsghdr, kBatchSize> hdrs;
    std::array<iovec, kBatchSize> iovs;
    std::array<Planned, kBatchSize> plan;
    alignas(cmsghdr) std::array<std::array<std::byte, kSendControlSize>, kBatchSize> control;

    Cursor at{0, 0};
    bool split = false;  // after a failed GSO message: the rest of this call without GSO
    while (at.index < msgs.size()) {
        const bool gso = socket.gso() && !split;
        // Up to kBatchSize messages and kBatchSize iovecs per call.
        size_t m = 0;
        size_t iov = 0;
        Cursor c = at;
        while (m < kBatchSize && iov < kBatchSize && c.index < msgs.size()) {
            const OutDatagram& d = msgs[c.index];
            msghdr& h = hdrs[m].msg_hdr;
            h = msghdr{};
            h.msg_name = const_cast<sockaddr*>(d.to);
            h.msg_namelen = d.to_len;
            h.msg_iov = &iovs[iov];
            std::byte* ctl = control[m].data();
            size_t ctl_len = put_source(ctl, d.from);
            Planned& p = plan[m];
            if (d.segment != 0 && !gso) {
                // Coalesced, and this socket cannot send it so: a segment
                // at a time.
                size_t len = std::min<size_t>(d.segment, d.size - c.offset);
                iovs[iov++] = {const_cast<std::byte*>(d.data) + c.offset, len};
                h.msg_iovlen = 1;
                c.offset += len;
                if (c.offset >= d.size) c = {c.index + 1, 0};
                p = {1, len, false, c};
            } else {
                size_t run =
                    gso ? gso_run(msgs.subspan(c.index, std::min(kBatchSize - iov, msgs.size() - c.index))) : 1;
                size_t bytes = 0;
                for (size_t k = 0; k < run; ++k) {
                    const OutDatagram& part = msgs[c.index + k];
                    iovs[iov + k] = {const_cast<std::byte*>(part.data), part.size};
                    bytes += part.size;
                }
                h.msg_iovlen = run;
                iov += run;
                bool segmented = run > 1 || d.segment != 0;
                if (segmented) {
                    ctl_len += put_segment_size(ctl + ctl_len, static_cast<uint16_t>(run > 1 ? d.size : d.segment));
                }
                size_t datagrams = run > 1 ? run : d.datagrams();
                c = {c.index + run, 0};
                p = {datagrams, bytes, segmented, c};
            }
            if (ctl_len != 0) {
                h.msg_control = ctl;
                h.msg_controllen = ctl_len;
            }
            ++m;
        }

        int rc = ::sendmmsg(socket.fd(), hdrs.data(), static_cast<unsigned>(m), MSG_DONTWAIT);
        if (rc > 0) {
            for (int k = 0; k < rc; ++k) {
                result.sent += plan[k].datagrams;
                result.sent_bytes += plan[k].bytes;
            }
            at = plan[rc - 1].end;
            continue;  // a short count means the next one failed: the retry tells why
        }
        if (errno == EINTR) continue;
        // ENOBUFS is not here: no writable event would follow it, so
        // waiting for one could stall; it counts as a failed datagram.
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            result.would_block = true;
            if (at.offset != 0) {
                // The rest of a coalesced datagram cut up for a socket
                // without GSO: the queue takes whole datagrams only, so
                // those segments are dropped (counted).
                const OutDatagram& d = msgs[at.index];
                result.failed += (d.size - at.offset + d.segment - 1) / d.segment;
                at = {at.index + 1, 0};
            }
            break;
        }
        if (plan[0].gso) {
            // No checksum offload on the way out, or a segment above the
            // path MTU: this socket sends datagram by datagram from now on.
            if (errno == EIO || errno == EINVAL) socket.set_gso(false);
            // Anything else (an ICMP error reported for an earlier
            // datagram, consumed by this call): the same datagrams once
            // more, one by one, so that a failure costs only its own.
            split = true;
            continue;
        }
        // This message cannot go (pending ICMP error, too big, no route):
        // skip it so that one bad datagram never blocks the rest.
        result.last_error = errno;
        result.failed += plan[0].datagrams;
        at = plan[0].end;
    }
    result.consumed = at.index;
    return result;
}

}  // namespace porthop::net
