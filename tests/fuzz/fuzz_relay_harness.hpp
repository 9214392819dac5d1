#pragma once
// In-process plumbing for the relay fuzz targets: plain sockets on loopback
// that play the QUIC client, the QUIC server, the other relay and strangers,
// and the checks every relay must pass after any traffic.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/session_ciphers.hpp"
#include "crypto/session_crypto.hpp"
#include "fuzz_common.hpp"
#include "metrics/registry.hpp"
#include "metrics/registry_collector.hpp"
#include "metrics/text_format.hpp"
#include "relay/relay.hpp"

namespace porthop_fuzz {

inline constexpr size_t kMaxUdpPayload = 65507;

inline sockaddr_in loopback(uint8_t last_octet, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(0x7f000000u | last_octet);
    return a;
}

// A non-blocking UDP socket bound to 127.0.0.N:port (0: any free port), with
// large buffers so that the harness itself drops nothing; aborts on failure.
inline int bound_socket(uint8_t last_octet, uint16_t port = 0) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) std::abort();
    int big = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    sockaddr_in a = loopback(last_octet, port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::perror("bind");
        std::abort();
    }
    return fd;
}

inline uint16_t local_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// A port on 127.0.0.1 that was free a moment ago (nobody in this process
// takes it afterwards but the relay under test).
inline uint16_t free_port() {
    int fd = bound_socket(1);
    uint16_t p = local_port(fd);
    ::close(fd);
    return p;
}

// The payload of the next datagram: its size from the input (mostly small,
// now and then up to the largest UDP payload), its first bytes from the
// input, the rest zeros.
inline std::span<const uint8_t> next_payload(Reader& r, size_t cap = kMaxUdpPayload) {
    static std::array<uint8_t, kMaxUdpPayload> buf{};
    uint8_t sel = r.u8();
    size_t size = 0;
    switch (sel & 3) {
        case 0: size = sel >> 2; break;                        // 0..63
        case 1: size = r.u8() * 8; break;                      // up to 2 KB
        case 2: size = r.u16() % (kMaxUdpPayload + 1); break;  // anything
        default: size = kMaxUdpPayload - (sel >> 2); break;    // the largest ones
    }
    size = std::min(size, cap);
    auto head = r.take(std::min<size_t>(size, 64));
    std::memcpy(buf.data(), head.data(), head.size());
    std::memset(buf.data() + head.size(), 0, size - head.size());
    return {buf.data(), size};
}

inline void send_to(int fd, std::span<const uint8_t> payload, const sockaddr_in& to) {
    ::sendto(fd, payload.data(), payload.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to), sizeof to);
}

// Reads everything queued on fd; calls on(source, payload) per datagram.
template <typename F>
void drain(int fd, F&& on) {
    static std::array<uint8_t, 65536> buf;
    for (;;) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            continue;  // an ICMP error reported on this socket: go on
        }
        on(from, std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    }
}

inline void drain(int fd) {
    drain(fd, [](const sockaddr_in&, std::span<const uint8_t>) {});
}

inline bool same(const sockaddr_in& a, const sockaddr_in& b) {
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
}

// Remembers up to 16 distinct addresses (the relay sockets seen so far).
struct Learned {
    std::vector<sockaddr_in> list;
    void add(const sockaddr_in& a) {
        for (const auto& x : list) {
            if (same(x, a)) return;
        }
        if (list.size() < 16) list.push_back(a);
    }
    const sockaddr_in* pick(uint8_t k) const { return list.empty() ? nullptr : &list[k % list.size()]; }
};

// Session mode's side of the harness: one pre-shared key for the process,
// and datagrams framed with it as the other relay would (or not quite: the
// input picks the session id, the counter and the cipher, so replays,
// unknown ids and a session changing cipher come too).
class Framer {
public:
    Framer()
        : psk_(make_key()),
          c2s_(psk_, porthop::crypto::Direction::upstream, porthop::crypto::aes_gcm_available()),
          s2c_(psk_, porthop::crypto::Direction::downstream, porthop::crypto::aes_gcm_available()) {}
    const porthop::crypto::Key& psk() const { return psk_; }
    // `payload` framed as the client relay (to_server) or the server relay
    // would send it; in AES-256-GCM when `aes` and this CPU has it.
    std::span<const uint8_t> seal(std::span<const uint8_t> payload, uint64_t id, uint64_t counter, bool to_server,
                                  bool aes = false) {
        payload = payload.first(std::min(payload.size(), kMaxUdpPayload - porthop::crypto::kOverhead));
        std::byte* at = buf_.data() + porthop::crypto::kHeaderSize;
        std::memcpy(at, payload.data(), payload.size());
        const porthop::crypto::SessionCiphers& c = to_server ? c2s_ : s2c_;
        auto framed = c.seal(keys(c, to_server ? client_ : server_, id, aes), at, payload.size(), id, counter);
        return {reinterpret_cast<const uint8_t*>(framed.data()), framed.size()};
    }
    // Opens a datagram of the client relay (either cipher) in place; nullopt
    // when it does not open.
    std::optional<std::pair<uint64_t, std::span<const uint8_t>>> open_from_client(std::span<const uint8_t> d) {
        std::memcpy(buf_.data(), d.data(), d.size());
        std::span<std::byte> datagram(buf_.data(), d.size());
        auto h = porthop::crypto::parse_session_header(datagram);
        if (!h) return std::nullopt;
        client_sent_aes_ = h->version == porthop::crypto::kAesGcmVersion;
        auto opened = s2c_.open(keys(s2c_, server_, h->session_id, client_sent_aes_), datagram, *h);
        if (!opened) return std::nullopt;
        return std::pair{h->session_id,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(opened->data()), opened->size())};
    }
    // The cipher of the client relay's latest datagram: replies go in it.
    bool client_sent_aes() const { return client_sent_aes_; }

private:
    struct Slot {
        uint64_t id = 0;
        porthop::crypto::SessionKeys keys;
    };
    static porthop::crypto::Key make_key() {
        porthop::crypto::init();
        return porthop::crypto::generate_key();
    }
    static porthop::crypto::SessionKeys& keys(const porthop::crypto::SessionCiphers& c, Slot& slot, uint64_t id,
                                              bool aes) {
        if (aes && c.aes_gcm()) {
            if (slot.id != id || !slot.keys.tx_ready) {
                slot.keys = porthop::crypto::SessionKeys{};
                c.use_aes_gcm(slot.keys, id);
                slot.id = id;
            }
            slot.keys.suite = porthop::crypto::Suite::aes256gcm;
        } else {
            slot.keys.suite = porthop::crypto::Suite::xchacha20;
        }
        return slot.keys;
    }
    porthop::crypto::Key psk_;
    porthop::crypto::SessionCiphers c2s_;
    porthop::crypto::SessionCiphers s2c_;
    Slot client_, server_;
    bool client_sent_aes_ = false;
    std::array<std::byte, kMaxUdpPayload + 64> buf_{};
};

// What the metrics of a live relay must say, whatever the traffic was.
inline void check_relay(const porthop::metrics::Registry& m, const porthop::relay::Relay& relay, size_t max_sessions) {
    using porthop::metrics::CloseReason;
    using porthop::metrics::Family;
    FUZZ_CHECK(relay.sessions() <= max_sessions);
    FUZZ_CHECK(m.get(Family::sessions) == relay.sessions());
    uint64_t closed =
        m.get(Family::sessions_closed, CloseReason::idle) + m.get(Family::sessions_closed, CloseReason::error) +
        m.get(Family::sessions_closed, CloseReason::shutdown) + m.get(Family::sessions_closed, CloseReason::evicted);
    FUZZ_CHECK(m.get(Family::sessions_opened) == closed + relay.sessions());
    FUZZ_CHECK(m.get(Family::send_queue_bytes) <= porthop::relay::kQueueBudgetTotal);
    const porthop::metrics::RegistryCollector collector(m, {"fuzz", "fuzz", "plain"});
    FUZZ_CHECK(!porthop::metrics::to_text({&collector}).empty());
}

// After shutdown(): no session, nothing queued.
inline void check_shut_down(const porthop::metrics::Registry& m, const porthop::relay::Relay& relay) {
    using porthop::metrics::Family;
    FUZZ_CHECK(relay.sessions() == 0);
    FUZZ_CHECK(!relay.listening());
    FUZZ_CHECK(m.get(Family::sessions) == 0);
    FUZZ_CHECK(m.get(Family::send_queue_bytes) == 0);
}

}  // namespace porthop_fuzz
