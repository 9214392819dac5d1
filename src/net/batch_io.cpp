#include "net/batch_io.hpp"

#include <cstring>

namespace porthop::net {

void enable_receive_info(const UdpSocket& socket, bool destination) {
    int on = 1;
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    if (!destination) return;
    // An IPv6 socket may also carry IPv4 (mapped) traffic: ask for both.
    ::setsockopt(socket.fd(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    if (socket.local_address().is_v6()) ::setsockopt(socket.fd(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
}

RecvBatch::RecvBatch() : buffers_(std::make_unique_for_overwrite<std::byte[]>(kBatchSize * kStride)) {
    for (size_t i = 0; i < kBatchSize; ++i) {
        iovs_[i].iov_base = slot(i);
        iovs_[i].iov_len = kMaxDatagram;
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

int64_t RecvBatch::kernel_drops(size_t i) const {
    auto& h = const_cast<msghdr&>(msgs_[i].msg_hdr);
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
            return drops;
        }
    }
    return -1;
}

namespace {

constexpr size_t kSendControlSize = CMSG_SPACE(sizeof(in6_pktinfo));

// Sets the source-address control message of h from `from`.
void set_source(msghdr& h, std::byte* control, const sockaddr* from) {
    if (from == nullptr) return;
    h.msg_control = control;
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
    if (from->sa_family == AF_INET) {
        in_pktinfo info{};
        info.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(from)->sin_addr;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        h.msg_controllen = CMSG_SPACE(sizeof info);
    } else {
        in6_pktinfo info{};
        info.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(from)->sin6_addr;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        std::memcpy(CMSG_DATA(c), &info, sizeof info);
        h.msg_controllen = CMSG_SPACE(sizeof info);
    }
}

}  // namespace

SendResult send_batch(const UdpSocket& socket, std::span<const OutDatagram> msgs) {
    SendResult result;
    std::array<mmsghdr, kBatchSize> hdrs;
    std::array<iovec, kBatchSize> iovs;
    alignas(cmsghdr) std::array<std::array<std::byte, kSendControlSize>, kBatchSize> control;

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
            set_source(h, control[i].data(), m.from);
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
