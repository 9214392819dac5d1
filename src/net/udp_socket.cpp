#include "net/udp_socket.hpp"

#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace porthop::net {

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

UdpSocket UdpSocket::open(int family) {
    int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) {
        throw NetError("cannot create a UDP socket: " + errno_text() +
                       (errno == EMFILE ? " (raise the open-file limit or lower --max-sessions)" : ""));
    }
    return UdpSocket(fd);
}

void UdpSocket::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void UdpSocket::bind(const Address& local) {
    if (::bind(fd_, local.sockaddr_ptr(), local.length()) != 0) {
        throw NetError("cannot bind UDP " + local.to_string() + ": " + errno_text());
    }
}

void UdpSocket::connect(const Address& peer) {
    if (::connect(fd_, peer.sockaddr_ptr(), peer.length()) != 0) {
        throw NetError("cannot connect UDP socket to " + peer.to_string() + ": " + errno_text());
    }
}

namespace {
// The *FORCE variants pass net.core.{w,r}mem_max when the process has
// CAP_NET_ADMIN (a relay usually runs as root or with that capability);
// without it the plain option applies, clamped by the kernel.
void set_buffer(int fd, int force_opt, int opt, int bytes, const char* name) {
    if (bytes <= 0) return;
    if (::setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return;
    if (::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes) != 0) {
        throw NetError(std::string("cannot set ") + name + " to " + std::to_string(bytes) + ": " + errno_text());
    }
}
}  // namespace

void UdpSocket::set_buffer_sizes(int sndbuf, int rcvbuf) {
    set_buffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf, "SO_SNDBUF");
    set_buffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf, "SO_RCVBUF");
}

uint32_t UdpSocket::kernel_drops() const {
    std::array<uint32_t, SK_MEMINFO_VARS> info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, info.data(), &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
        return 0;
    }
    return info[SK_MEMINFO_DROPS];
}

Address UdpSocket::local_address() const {
    Address a;
    socklen_t len = Address::capacity();
    if (::getsockname(fd_, a.sockaddr_ptr(), &len) != 0) return Address{};
    return Address::from_sockaddr(a.sockaddr_ptr(), len);
}

}  // namespace porthop::net
