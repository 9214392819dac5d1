#include "net/batch_io.hpp"

#include <cerrno>

namespace porthop::net {

RecvBatch::RecvBatch() : buffers_(std::make_unique_for_overwrite<std::byte[]>(kBatchSize * kMaxDatagram)) {
    for (size_t i = 0; i < kBatchSize; ++i) {
        iovs_[i].iov_base = buffers_.get() + i * kMaxDatagram;
        iovs_[i].iov_len = kMaxDatagram;
    }
}

RecvBatch::Result RecvBatch::receive(const UdpSocket& socket) {
    for (size_t i = 0; i < kBatchSize; ++i) {
        msghdr& h = msgs_[i].msg_hdr;
        h.msg_name = sources_[i].sockaddr_ptr();
        h.msg_namelen = Address::capacity();
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
        h.msg_control = nullptr;
        h.msg_controllen = 0;
        h.msg_flags = 0;
    }
    for (;;) {
        int n = ::recvmmsg(socket.fd(), msgs_.data(), kBatchSize, MSG_DONTWAIT, nullptr);
        if (n >= 0) return {static_cast<size_t>(n), 0};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, 0};
        return {0, errno};
    }
}

SendResult send_batch(const UdpSocket& socket, std::span<const OutDatagram> msgs) {
    SendResult result;
    std::array<mmsghdr, kBatchSize> hdrs;
    std::array<iovec, kBatchSize> iovs;

    size_t next = 0;
    while (next < msgs.size()) {
        size_t n = std::min(kBatchSize, msgs.size() - next);
        for (size_t i = 0; i < n; ++i) {
            const OutDatagram& m = msgs[next + i];
            iovs[i].iov_base = const_cast<std::byte*>(m.data);
            iovs[i].iov_len = m.size;
            msghdr& h = hdrs[i].msg_hdr;
            h = msghdr{};
            h.msg_name = const_cast<sockaddr*>(m.to);
            h.msg_namelen = m.to_len;
            h.msg_iov = &iovs[i];
            h.msg_iovlen = 1;
        }
        int rc = ::sendmmsg(socket.fd(), hdrs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
        if (rc > 0) {
            for (int i = 0; i < rc; ++i) result.sent_bytes += msgs[next + i].size;
            result.sent += static_cast<size_t>(rc);
            next += static_cast<size_t>(rc);
            continue;  // a short count means the next one failed: the retry tells why
        }
        if (errno == EINTR) continue;
        // ENOBUFS is not here: no writable event would follow it, so
        // waiting for one could stall; it counts as a failed datagram.
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            result.would_block = true;
            return result;
        }
        // This datagram cannot go (pending ICMP error, too big, no route):
        // skip it so that one bad datagram never blocks the rest.
        result.last_error = errno;
        ++result.failed;
        ++next;
    }
    return result;
}

}  // namespace porthop::net
