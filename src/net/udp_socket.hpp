#pragma once
// An owned, non-blocking UDP socket. Set-up failures throw NetError with a
// message fit for the user; the per-datagram calls (batch.hpp) never throw.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "net/address.hpp"

namespace porthop::net {

struct NetError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class UdpSocket {
public:
    UdpSocket() = default;
    // A new non-blocking, close-on-exec UDP socket of the address's family.
    static UdpSocket open(int family);
    // Takes ownership of an open datagram socket (e.g. one handed over by a
    // service manager, or one end of a socketpair in tests).
    static UdpSocket adopt(int fd) { return UdpSocket(fd); }
    ~UdpSocket() { close(); }
    UdpSocket(UdpSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), gso_(std::exchange(o.gso_, false)) {}
    UdpSocket& operator=(UdpSocket&& o) noexcept {
        if (this != &o) {
            close();
            fd_ = std::exchange(o.fd_, -1);
            gso_ = std::exchange(o.gso_, false);
        }
        return *this;
    }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    int fd() const { return fd_; }
    bool is_open() const { return fd_ >= 0; }
    void close();

    void bind(const Address& local);
    // Fixes the peer: the kernel then drops datagrams from anyone else and
    // reports ICMP errors (ECONNREFUSED) on this socket.
    void connect(const Address& peer);
    // 0 keeps the system default. The kernel may clamp the value
    // (net.core.rmem_max / wmem_max).
    void set_buffer_sizes(int sndbuf, int rcvbuf);
    Address local_address() const;
    // The kernel's count of datagrams it dropped on this socket (full
    // receive buffer, bad checksum), as SO_MEMINFO reports it; 32 bits, wraps.
    uint32_t kernel_drops() const;

    // Whether send_batch coalesces runs of datagrams into GSO sends
    // (offload.hpp); off until set, and turned off for good when the kernel
    // refuses a GSO send on this socket.
    bool gso() const { return gso_; }
    void set_gso(bool on) { gso_ = on; }

private:
    explicit UdpSocket(int fd) : fd_(fd) {}
    int fd_ = -1;
    bool gso_ = false;
};

}  // namespace porthop::net
