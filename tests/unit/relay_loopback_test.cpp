// A client relay, a server relay and an echo upstream on one event base over
// loopback: the relay path end to end, in process, so that allocations on the
// hot path can be counted.

#include <gtest/gtest.h>
#include <sys/random.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/batch_io.hpp"
#include "relay/client_relay.hpp"
#include "relay/server_relay.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};
}  // namespace

// Counts every allocation made while g_counting is set. Sanitizer builds keep
// their own allocator (and its checks), so the count runs only without them.
#if defined(__SANITIZE_ADDRESS__)
#define PORTHOP_COUNT_ALLOCATIONS 0
#else
#define PORTHOP_COUNT_ALLOCATIONS 1
void* operator new(size_t n) {
    if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#endif

namespace {

using namespace porthop;
using namespace std::chrono_literals;

uint16_t random_port_base() {
    uint16_t r = 0;
    getrandom(&r, sizeof r, 0);
    return static_cast<uint16_t>(30000 + r % 20000);
}

struct Harness {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry client_metrics, server_metrics;
    net::UdpSocket echo = net::UdpSocket::open(AF_INET);
    net::UdpSocket app = net::UdpSocket::open(AF_INET);
    std::unique_ptr<loop::Event> echo_ev;
    std::unique_ptr<relay::ServerRelay> server;
    std::unique_ptr<relay::ClientRelay> client;
    net::Address client_addr;
    net::RecvBatch echo_batch;
    std::vector<std::byte> payload = std::vector<std::byte>(1200, std::byte{0x5a});

    explicit Harness(const char* client_listen = "127.0.0.1") {
        auto lo = *net::Address::parse_ip("127.0.0.1", 0);
        echo.bind(lo);
        app.bind(lo);
        echo_ev = std::make_unique<loop::Event>(*base, echo.fd(), EV_READ | EV_PERSIST, [this](short) {
            auto r = echo_batch.receive(echo);
            std::array<net::OutDatagram, net::kBatchSize> out;
            for (size_t i = 0; i < r.count; ++i) out[i] = net::OutDatagram::make(echo_batch.payload(i), &echo_batch.source(i));
            net::send_batch(echo, std::span(out.data(), r.count));
        });
        echo_ev->add();

        uint16_t first = random_port_base();
        config::PortSet ports;
        for (uint16_t p = first; p < first + 8; ++p) ports.ports.push_back(p);

        config::Options so;
        so.role = config::Role::server;
        so.listen_ip = lo;
        so.listen_ports = ports;
        so.upstream = echo.local_address();
        server = std::make_unique<relay::ServerRelay>(*base, server_metrics, so);

        config::Options co;
        co.role = config::Role::client;
        co.listen = *net::Address::parse_ip(client_listen, 0);
        co.server_ip = lo;
        co.server_ports = ports;
        co.hop_interval = 1ms;  // hop nearly every batch: the hop path is hot too
        co.hop_jitter = 0ms;
        client = std::make_unique<relay::ClientRelay>(*base, client_metrics, co);
        client_addr = client->listen_address();
    }

    // Sends `count` datagrams from the app and runs the loop until they are
    // all echoed back; returns how many came back.
    size_t round_trip(size_t count) {
        size_t back = 0;
        auto deadline = std::chrono::steady_clock::now() + 10s;
        std::array<std::byte, 2048> buf;
        for (size_t sent = 0; sent < count; ++sent) {
            ::sendto(app.fd(), payload.data(), payload.size(), 0, client_addr.sockaddr_ptr(), client_addr.length());
            event_base_loop(base.get(), EVLOOP_NONBLOCK);
            while (::recv(app.fd(), buf.data(), buf.size(), MSG_DONTWAIT) > 0) ++back;
        }
        while (back < count && std::chrono::steady_clock::now() < deadline) {
            event_base_loop(base.get(), EVLOOP_NONBLOCK);
            while (::recv(app.fd(), buf.data(), buf.size(), MSG_DONTWAIT) > 0) ++back;
        }
        return back;
    }
};

}  // namespace

TEST(RelayLoopback, EchoesEveryDatagramThroughBothRelays) {
    Harness h;
    EXPECT_EQ(h.round_trip(2000), 2000u);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::packets, metrics::Direction::upstream), 2000u);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::packets, metrics::Direction::downstream), 2000u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::bytes, metrics::Direction::upstream), 2000u * 1200);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::sessions), 1u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions), 1u);
}

TEST(RelayLoopback, HotPathAllocatesNothingPerDatagram) {
    if (!PORTHOP_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under sanitizers";
    Harness h;
    ASSERT_EQ(h.round_trip(100), 100u);  // sessions and lazy buffers exist now
    g_allocations = 0;
    g_counting = true;
    size_t back = h.round_trip(5000);
    g_counting = false;
    EXPECT_EQ(back, 5000u);
    EXPECT_GT(h.client_metrics.get(metrics::Family::hops, metrics::HopReason::interval), 0u);
    EXPECT_EQ(g_allocations.load(), 0u);
}

TEST(RelayLoopback, WildcardListenerRepliesFromTheAddressTheClientWroteTo) {
    Harness h("0.0.0.0");
    // The application writes to 127.0.0.2, another local address than the
    // kernel would pick as the reply's source; a connected socket (as QUIC
    // clients use) accepts only replies from exactly that address.
    auto target = *net::Address::parse_ip("127.0.0.2", h.client_addr.port());
    ASSERT_EQ(::connect(h.app.fd(), target.sockaddr_ptr(), target.length()), 0);
    h.client_addr = target;
    EXPECT_EQ(h.round_trip(100), 100u);
}

TEST(RelayLoopback, ShutdownCountsOpenSessionsClosed) {
    Harness h;
    ASSERT_EQ(h.round_trip(10), 10u);
    h.client->shutdown();
    h.server->shutdown();
    EXPECT_FALSE(h.client->listening());
    EXPECT_FALSE(h.server->listening());
    EXPECT_EQ(h.client_metrics.get(metrics::Family::sessions_closed, metrics::CloseReason::shutdown), 1u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions_closed, metrics::CloseReason::shutdown), 1u);
}
