// A client relay, a server relay and an echo upstream on one event base over
// loopback: the relay path end to end, in process, so that allocations on the
// hot path can be counted.

#include <gtest/gtest.h>
#include <sys/random.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <set>
#include <vector>

#include "crypto/aes_gcm.hpp"
#include "crypto/session_crypto.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/batch_io.hpp"
#include "relay/client_relay.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"
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
// The replacements below pair malloc with free; GCC, seeing operator new
// inlined into a caller, would mistake that for a mismatch.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
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
    std::unique_ptr<relay::Relay> server;
    std::unique_ptr<relay::Relay> client;
    relay::ServerRelay<relay::SessionFraming>* session_server = nullptr;  // session mode only
    relay::ClientRelay<relay::SessionFraming>* session_client = nullptr;
    crypto::Key psk;
    config::PortSet ports;
    net::Address client_addr;
    net::RecvBatch echo_batch;
    std::vector<std::byte> payload = std::vector<std::byte>(1200, std::byte{0x5a});
    config::Options client_options;
    config::Options server_options;

    // Which relays may use AES-256-GCM (session mode): both where the CPU
    // has it, neither, or only the client (a server relay on a CPU without
    // it, played through PORTHOP_NO_AESGCM).
    enum class Aes { where_available, nowhere, client_only };

    // adaptive: the client relay also hops on stall and slowdown; paths:
    // its --paths.
    explicit Harness(const char* client_listen = "127.0.0.1", config::Mode mode = config::Mode::plain,
                     bool adaptive = false, Aes aes = Aes::where_available, uint32_t paths = 1) {
        if (aes != Aes::where_available) ::setenv("PORTHOP_NO_AESGCM", "1", 1);
        crypto::init();
        psk = crypto::generate_key();
        auto lo = *net::Address::parse_ip("127.0.0.1", 0);
        echo.bind(lo);
        app.bind(lo);
        echo_ev = std::make_unique<loop::Event>(*base, echo.fd(), EV_READ | EV_PERSIST, [this](short) {
            auto r = echo_batch.receive(echo);
            std::array<net::OutDatagram, net::kBatchSize> out;
            for (size_t i = 0; i < r.count; ++i)
                out[i] = net::OutDatagram::make(echo_batch.payload(i), &echo_batch.source(i));
            net::send_batch(echo, std::span(out.data(), r.count));
        });
        echo_ev->add();

        // Random ports may be taken (an ephemeral port of another process):
        // draw again.
        for (int attempt = 0; attempt < 20 && !server; ++attempt) {
            uint16_t first = random_port_base();
            ports.ports.clear();
            for (uint16_t p = first; p < first + 8; ++p) ports.ports.push_back(p);

            config::Options so;
            so.role = config::Role::server;
            so.listen_ip = lo;
            so.listen_ports = ports;
            so.upstream = echo.local_address();
            so.mode = mode;
            server_options = so;
            try {
                if (mode == config::Mode::session) {
                    auto s =
                        std::make_unique<relay::ServerRelay<relay::SessionFraming>>(*base, server_metrics, so, &psk);
                    session_server = s.get();
                    server = std::move(s);
                } else {
                    server = std::make_unique<relay::ServerRelay<relay::PlainFraming>>(*base, server_metrics, so);
                }
            } catch (const net::NetError&) {}
        }
        if (aes == Aes::client_only) ::unsetenv("PORTHOP_NO_AESGCM");
        if (!server) throw std::runtime_error("no free port range for the server relay");

        config::Options co;
        co.role = config::Role::client;
        co.listen = *net::Address::parse_ip(client_listen, 0);
        co.server_ip = lo;
        co.server_ports = ports;
        co.hop_interval = 1ms;  // hop nearly every batch: the hop path is hot too
        co.hop_jitter = 0ms;
        co.mode = mode;
        co.paths = paths;
        if (adaptive) {
            co.hop_on_stall = 500ms;
            co.hop_on_slowdown = true;
        }
        client_options = co;
        if (mode == config::Mode::session) {
            auto c = std::make_unique<relay::ClientRelay<relay::SessionFraming>>(*base, client_metrics, co, &psk);
            session_client = c.get();
            client_addr = c->listen_address();
            client = std::move(c);
        } else {
            auto c = std::make_unique<relay::ClientRelay<relay::PlainFraming>>(*base, client_metrics, co);
            client_addr = c->listen_address();
            client = std::move(c);
        }
        ::unsetenv("PORTHOP_NO_AESGCM");
    }

    // A new client relay (session mode) with options `co` in place of the
    // harness's.
    void replace_session_client(const config::Options& co) {
        client.reset();
        auto c = std::make_unique<relay::ClientRelay<relay::SessionFraming>>(*base, client_metrics, co, &psk);
        session_client = c.get();
        client_addr = c->listen_address();
        client = std::move(c);
    }

    // The session-mode server relay stopped and a new one started on the
    // same ports with `so` (the client relay and the echo stay).
    void restart_session_server(const config::Options& so) {
        server.reset();
        auto s = std::make_unique<relay::ServerRelay<relay::SessionFraming>>(*base, server_metrics, so, &psk);
        session_server = s.get();
        server = std::move(s);
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

TEST(RelayLoopback, HotPathAllocatesNothingPerDatagramWithAdaptiveHops) {
    if (!PORTHOP_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under sanitizers";
    Harness h("127.0.0.1", config::Mode::plain, true);
    ASSERT_EQ(h.round_trip(100), 100u);
    g_allocations = 0;
    g_counting = true;
    // Long enough for the adaptive timer to tick over the session.
    auto until = std::chrono::steady_clock::now() + 300ms;
    size_t rounds = 0;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_EQ(h.round_trip(500), 500u);
        ++rounds;
    }
    g_counting = false;
    EXPECT_GT(rounds, 0u);
    EXPECT_EQ(g_allocations.load(), 0u);
}

TEST(RelayLoopback, ReloadTurnsStallHopsOn) {
    Harness h;
    ASSERT_EQ(h.round_trip(10), 10u);
    config::Options o = h.client_options;
    o.hop_on_stall = 100ms;
    o.hop_on_slowdown = true;
    ASSERT_TRUE(h.client->apply_runtime_options(o));
    // The upstream stops answering; the application keeps sending.
    h.echo_ev->remove();
    auto deadline = std::chrono::steady_clock::now() + 5s;
    uint64_t stalls = 0;
    while (stalls == 0 && std::chrono::steady_clock::now() < deadline) {
        ::sendto(h.app.fd(), h.payload.data(), 100, 0, h.client_addr.sockaddr_ptr(), h.client_addr.length());
        event_base_loop(h.base.get(), EVLOOP_ONCE);
        stalls = h.client_metrics.get(metrics::Family::hops, metrics::HopReason::stall);
    }
    EXPECT_GE(stalls, 1u);
}

TEST(RelayLoopback, ReloadRefusesTheOptionsOfAnotherRelay) {
    Harness h;
    config::Options o = h.client_options;
    o.role = config::Role::server;
    o.hop_interval = 1s;
    EXPECT_FALSE(h.client->apply_runtime_options(o));
    o = h.client_options;
    o.mode = config::Mode::session;
    EXPECT_FALSE(h.client->apply_runtime_options(o));
    EXPECT_TRUE(h.client->apply_runtime_options(h.client_options));
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

// ---------------------------------------------------------------------------
// Session mode (docs/protocol.md).

namespace {

uint64_t drops(metrics::Registry& m, metrics::DropReason r) { return m.get(metrics::Family::dropped, r); }

// Runs the loop until pred() or the deadline.
template <typename Pred>
bool run_until(Harness& h, Pred pred, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        event_base_loop(h.base.get(), EVLOOP_NONBLOCK);
    }
    return true;
}

}  // namespace

TEST(RelayLoopbackSession, EchoesEveryDatagramThroughBothRelays) {
    Harness h("127.0.0.1", config::Mode::session);
    EXPECT_EQ(h.round_trip(2000), 2000u);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::packets, metrics::Direction::upstream), 2000u);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::packets, metrics::Direction::downstream), 2000u);
    // The server relay's upstream carries plaintext; the hop carries framed datagrams.
    EXPECT_EQ(h.server_metrics.get(metrics::Family::bytes, metrics::Direction::upstream), 2000u * 1200);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::bytes, metrics::Direction::upstream),
              2000u * (1200 + crypto::kOverhead));
    EXPECT_EQ(h.client_metrics.get(metrics::Family::sessions), 1u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions), 1u);
    EXPECT_GT(h.client_metrics.get(metrics::Family::hops, metrics::HopReason::interval), 0u);
    EXPECT_EQ(drops(h.server_metrics, metrics::DropReason::auth), 0u);
    EXPECT_EQ(drops(h.client_metrics, metrics::DropReason::auth), 0u);
}

TEST(RelayLoopbackPaths, PlainSessionOverFourPathsEchoesEveryDatagramFromOneSource) {
    Harness h("127.0.0.1", config::Mode::plain, false, Harness::Aes::where_available, 4);
    EXPECT_EQ(h.round_trip(2000), 2000u);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::packets, metrics::Direction::downstream), 2000u);
    // One source address for all paths: one server session, one upstream socket.
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions), 1u);
    auto* client = dynamic_cast<relay::ClientRelay<relay::PlainFraming>*>(h.client.get());
    ASSERT_NE(client, nullptr);
    EXPECT_EQ(client->upstream_sockets(), 1u);
    EXPECT_EQ(client->report_sessions(1).sessions.at(0).ports.size(), 4u);
}

TEST(RelayLoopbackPaths, SessionModeOverFourPathsEchoesEveryDatagram) {
    Harness h("127.0.0.1", config::Mode::session, false, Harness::Aes::where_available, 4);
    EXPECT_EQ(h.round_trip(2000), 2000u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions), 1u);
    EXPECT_GE(h.session_client->upstream_sockets(), 4u);  // a socket (pair) per path
    EXPECT_EQ(drops(h.server_metrics, metrics::DropReason::auth), 0u);
}

TEST(RelayLoopbackSession, HotPathAllocatesNothingPerDatagram) {
    if (!PORTHOP_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under sanitizers";
    Harness h("127.0.0.1", config::Mode::session);
    ASSERT_EQ(h.round_trip(100), 100u);  // the session, both upstream endpoints, lazy buffers exist now
    uint64_t hops_before = h.client_metrics.get(metrics::Family::hops, metrics::HopReason::interval);
    g_allocations = 0;
    g_counting = true;
    size_t back = h.round_trip(5000);
    g_counting = false;
    EXPECT_EQ(back, 5000u);
    // Hops (each a fresh source socket) happened while counting.
    EXPECT_GT(h.client_metrics.get(metrics::Family::hops, metrics::HopReason::interval), hops_before);
    EXPECT_EQ(g_allocations.load(), 0u);
}

TEST(RelayLoopbackSession, HotPathAllocatesNothingPerDatagramWithXChaCha20) {
    if (!PORTHOP_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under sanitizers";
    Harness h("127.0.0.1", config::Mode::session, false, Harness::Aes::nowhere);
    ASSERT_EQ(h.round_trip(100), 100u);
    g_allocations = 0;
    g_counting = true;
    size_t back = h.round_trip(5000);
    g_counting = false;
    EXPECT_EQ(back, 5000u);
    EXPECT_EQ(g_allocations.load(), 0u);
}

// The client relay starts in AES-256-GCM; the server relay cannot open it,
// answers with a notice, and from then on the client relay seals in
// XChaCha20-Poly1305: what was lost before is at most the first round trip.
TEST(RelayLoopbackSession, ClientFallsBackToXChaCha20WhenTheServerLacksAesGcm) {
    crypto::init();
    if (!crypto::aes_gcm_available()) GTEST_SKIP() << "this CPU has no AES-256-GCM";
    Harness h("127.0.0.1", config::Mode::session, false, Harness::Aes::client_only);
    std::array<std::byte, 2048> buf;
    auto next_send = std::chrono::steady_clock::now();
    uint64_t sent = 0;
    // One datagram a millisecond until the first echo comes back.
    ASSERT_TRUE(run_until(h, [&] {
        if (std::chrono::steady_clock::now() >= next_send) {
            ::sendto(h.app.fd(), h.payload.data(), h.payload.size(), 0, h.client_addr.sockaddr_ptr(),
                     h.client_addr.length());
            ++sent;
            next_send += 1ms;
        }
        return ::recv(h.app.fd(), buf.data(), buf.size(), MSG_DONTWAIT) > 0;
    }));
    // Every datagram sent so far was either refused (AES-256-GCM, an auth
    // drop) or relayed and echoed; then none is left in flight.
    auto up = [&] { return h.server_metrics.get(metrics::Family::packets, metrics::Direction::upstream); };
    auto down = [&] { return h.client_metrics.get(metrics::Family::packets, metrics::Direction::downstream); };
    ASSERT_TRUE(run_until(
        h, [&] { return drops(h.server_metrics, metrics::DropReason::auth) + up() == sent && down() == up(); }));
    EXPECT_GE(drops(h.server_metrics, metrics::DropReason::auth), 1u);
    while (::recv(h.app.fd(), buf.data(), buf.size(), MSG_DONTWAIT) > 0) {}
    EXPECT_EQ(h.round_trip(200), 200u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions_opened), 1u);
    EXPECT_EQ(drops(h.client_metrics, metrics::DropReason::malformed), 0u);
    EXPECT_EQ(drops(h.client_metrics, metrics::DropReason::auth), 0u);
}

TEST(RelayLoopbackSession, BothRelaysWithoutAesGcmUseXChaCha20) {
    Harness h("127.0.0.1", config::Mode::session, false, Harness::Aes::nowhere);
    EXPECT_EQ(h.round_trip(200), 200u);
    EXPECT_EQ(drops(h.server_metrics, metrics::DropReason::auth), 0u);
}

TEST(RelayLoopbackSession, SourcePortChangesAcrossHops) {
    Harness h("127.0.0.1", config::Mode::session);
    std::set<uint16_t> source_ports;
    for (int i = 0; i < 40; ++i) {
        ASSERT_EQ(h.round_trip(5), 5u);
        auto peers = h.session_server->session_peers();
        ASSERT_EQ(peers.size(), 1u);  // one session throughout: keyed by id, not by sender
        source_ports.insert(peers[0].port());
        auto t = std::chrono::steady_clock::now() + 2ms;
        while (std::chrono::steady_clock::now() < t) event_base_loop(h.base.get(), EVLOOP_NONBLOCK);
    }
    EXPECT_GE(source_ports.size(), 10u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions_opened), 1u);
    // The current socket and at most one previous one in its grace period.
    EXPECT_LE(h.session_client->upstream_sockets(), 2u);
    EXPECT_GE(h.session_client->upstream_sockets(), 1u);
}

TEST(RelayLoopbackSession, UnauthenticatedDatagramsCreateNothingAndGetNoReply) {
    Harness h("127.0.0.1", config::Mode::session);
    auto prober = net::UdpSocket::open(AF_INET);
    prober.bind(*net::Address::parse_ip("127.0.0.1", 0));
    auto wrong = crypto::generate_key();
    crypto::Cipher wrong_tx(wrong, crypto::Direction::upstream);
    size_t sent = 0;
    std::array<std::byte, 256> buf{};
    for (uint16_t port : h.ports.ports) {
        auto to = *net::Address::parse_ip("127.0.0.1", port);
        for (size_t n = 0; n < 64; ++n) {  // garbage of every length, wrong version or too short
            for (size_t i = 0; i < n; ++i) buf[i] = static_cast<std::byte>(n + i);
            ::sendto(prober.fd(), buf.data(), n, 0, to.sockaddr_ptr(), to.length());
            ++sent;
        }
        // Well-formed, but sealed with another key.
        auto framed = wrong_tx.seal(buf.data() + 64, 100, 0x1234, 0);
        ::sendto(prober.fd(), framed.data(), framed.size(), 0, to.sockaddr_ptr(), to.length());
        ++sent;
    }
    ASSERT_TRUE(run_until(h, [&] {
        return drops(h.server_metrics, metrics::DropReason::auth) +
                   drops(h.server_metrics, metrics::DropReason::malformed) ==
               sent;
    }));
    EXPECT_EQ(h.server->sessions(), 0u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::sessions_opened), 0u);
    EXPECT_EQ(drops(h.server_metrics, metrics::DropReason::auth), h.ports.size());
    EXPECT_EQ(::recv(prober.fd(), buf.data(), buf.size(), MSG_DONTWAIT), -1);
    // The legitimate path still works.
    EXPECT_EQ(h.round_trip(10), 10u);
}

TEST(RelayLoopbackSession, RepliesFollowTheNewSourceAfterNatRebinding) {
    Harness h("127.0.0.1", config::Mode::session);
    crypto::Cipher tx(h.psk, crypto::Direction::upstream);
    crypto::Cipher rx(h.psk, crypto::Direction::downstream);
    auto lo = *net::Address::parse_ip("127.0.0.1", 0);
    auto a = net::UdpSocket::open(AF_INET);
    auto b = net::UdpSocket::open(AF_INET);
    a.bind(lo);
    b.bind(lo);
    auto server_port = *net::Address::parse_ip("127.0.0.1", h.ports.ports[3]);
    const uint64_t id = 0xfeedfacecafebeefull;
    std::array<std::byte, 2048> buf{};

    auto send_from = [&](net::UdpSocket& s, uint64_t counter, std::vector<std::byte>* copy = nullptr) {
        std::memset(buf.data() + 64, 0x42, 500);
        auto framed = tx.seal(buf.data() + 64, 500, id, counter);
        if (copy) copy->assign(framed.begin(), framed.end());
        ::sendto(s.fd(), framed.data(), framed.size(), 0, server_port.sockaddr_ptr(), server_port.length());
    };
    // A valid reply: sealed for this session, payload as sent.
    auto got_reply = [&](net::UdpSocket& s) {
        ssize_t n = ::recv(s.fd(), buf.data() + 64, 1500, MSG_DONTWAIT);
        if (n <= 0) return false;
        std::span<std::byte> d(buf.data() + 64, static_cast<size_t>(n));
        auto hdr = crypto::parse_header(d);
        EXPECT_TRUE(hdr);
        if (!hdr) return false;
        EXPECT_EQ(hdr->session_id, id);
        auto plain = rx.open(d, *hdr);
        EXPECT_TRUE(plain);
        return plain && plain->size() == 500;
    };

    std::vector<std::byte> first;
    send_from(a, 0, &first);
    ASSERT_TRUE(run_until(h, [&] { return got_reply(a); }));
    send_from(a, 1);
    ASSERT_TRUE(run_until(h, [&] { return got_reply(a); }));

    // The NAT maps the flow to a new source port: same session, new address.
    send_from(b, 2);
    ASSERT_TRUE(run_until(h, [&] { return got_reply(b); }));
    send_from(b, 3);
    ASSERT_TRUE(run_until(h, [&] { return got_reply(b); }));
    EXPECT_EQ(h.server->sessions(), 1u);
    EXPECT_EQ(h.session_server->session_peers()[0], b.local_address());

    // A replay of the first datagram from the old address is dropped and
    // does not move the session back.
    ::sendto(a.fd(), first.data(), first.size(), 0, server_port.sockaddr_ptr(), server_port.length());
    ASSERT_TRUE(run_until(h, [&] { return drops(h.server_metrics, metrics::DropReason::replay) == 1; }));
    EXPECT_EQ(h.session_server->session_peers()[0], b.local_address());
    EXPECT_EQ(::recv(a.fd(), buf.data(), buf.size(), MSG_DONTWAIT), -1);
}

namespace {

// Sends `d` from the app and returns what comes back (empty: nothing in 5 s).
std::vector<std::byte> echo_one(Harness& h, const std::vector<std::byte>& d) {
    ::sendto(h.app.fd(), d.data(), d.size(), 0, h.client_addr.sockaddr_ptr(), h.client_addr.length());
    std::vector<std::byte> back(65536);
    ssize_t n = -1;
    run_until(h, [&] { return (n = ::recv(h.app.fd(), back.data(), back.size(), MSG_DONTWAIT)) >= 0; });
    back.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return back;
}

std::vector<std::byte> pattern(size_t size) {
    std::vector<std::byte> d(size);
    for (size_t i = 0; i < size; ++i) d[i] = std::byte(static_cast<uint8_t>(i * 13 + size));
    return d;
}

uint64_t pieces(metrics::Registry& m, metrics::Direction d) { return m.get(metrics::Family::pieces, d); }

}  // namespace

TEST(RelayLoopbackSession, ADatagramThatFitsTheMtuFramedGoesWholeWithThe33ByteOverhead) {
    Harness h("127.0.0.1", config::Mode::session);
    // 1500 - 28 - 33 = 1439 bytes fit.
    h.payload.assign(1439, std::byte{1});
    EXPECT_EQ(h.round_trip(10), 10u);
    EXPECT_EQ(h.client_metrics.get(metrics::Family::bytes, metrics::Direction::upstream), 10u * 1472);
    EXPECT_EQ(pieces(h.client_metrics, metrics::Direction::upstream), 0u);
    EXPECT_EQ(pieces(h.server_metrics, metrics::Direction::downstream), 0u);
}

TEST(RelayLoopbackSession, LargerDatagramsCrossInPiecesBothWaysIntact) {
    Harness h("127.0.0.1", config::Mode::session);
    for (size_t size : {1440u, 1452u, 2878u, 9000u, 65507u}) {
        auto d = pattern(size);
        EXPECT_EQ(echo_one(h, d), d) << size;
    }
    // 2 + 2 + 3 + 7 + 46 pieces each way (1431 bytes of payload per piece at most).
    EXPECT_EQ(pieces(h.client_metrics, metrics::Direction::upstream), 60u);
    EXPECT_EQ(pieces(h.server_metrics, metrics::Direction::upstream), 60u);
    EXPECT_EQ(pieces(h.server_metrics, metrics::Direction::downstream), 60u);
    EXPECT_EQ(pieces(h.client_metrics, metrics::Direction::downstream), 60u);
    EXPECT_EQ(drops(h.client_metrics, metrics::DropReason::oversize), 0u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::bytes, metrics::Direction::upstream),
              1440u + 1452 + 2878 + 9000 + 65507);
}

TEST(RelayLoopbackSession, ManyPiecedDatagramsInOneBatchArriveInOrder) {
    Harness h("127.0.0.1", config::Mode::session);
    // Bursts of 40 two-piece datagrams: a receive batch of 64 pieces holds
    // more whole datagrams than wait in the reassembly at most.
    std::vector<std::vector<std::byte>> sent;
    std::vector<std::byte> buf(65536);
    size_t got = 0;
    bool in_order = true;
    for (int burst = 0; burst < 5; ++burst) {
        for (size_t k = 0; k < 40; ++k) {
            sent.push_back(pattern(1452 + sent.size()));
            ::sendto(h.app.fd(), sent.back().data(), sent.back().size(), 0, h.client_addr.sockaddr_ptr(),
                     h.client_addr.length());
        }
        run_until(h, [&] {
            ssize_t n;
            while (got < sent.size() && (n = ::recv(h.app.fd(), buf.data(), buf.size(), MSG_DONTWAIT)) >= 0) {
                in_order = in_order && static_cast<size_t>(n) == sent[got].size() &&
                           std::equal(sent[got].begin(), sent[got].end(), buf.begin());
                ++got;
            }
            return got == sent.size();
        });
    }
    EXPECT_EQ(got, sent.size());
    EXPECT_TRUE(in_order);
    EXPECT_EQ(drops(h.server_metrics, metrics::DropReason::reassembly_full), 0u);
}

TEST(RelayLoopbackSession, HotPathAllocatesNothingPerPiece) {
    if (!PORTHOP_COUNT_ALLOCATIONS) GTEST_SKIP() << "allocation counting is off under sanitizers";
    Harness h("127.0.0.1", config::Mode::session);
    h.payload.assign(3000, std::byte{2});
    ASSERT_EQ(h.round_trip(100), 100u);  // the piece buffers exist now
    g_allocations = 0;
    g_counting = true;
    size_t back = h.round_trip(2000);
    g_counting = false;
    EXPECT_EQ(back, 2000u);
    EXPECT_EQ(g_allocations.load(), 0u);
}

// Keepalives (docs/protocol.md, "Keepalives"): the server relay answers each
// one, so that the client relay's stall detector can judge a path on which the
// application sends nothing.

TEST(RelayLoopbackSession, ServerAnswersEachKeepaliveOnceAndRelaysNothing) {
    Harness h("127.0.0.1", config::Mode::session);
    crypto::Cipher tx(h.psk, crypto::Direction::upstream);
    crypto::Cipher rx(h.psk, crypto::Direction::downstream);
    auto peer = net::UdpSocket::open(AF_INET);
    peer.bind(*net::Address::parse_ip("127.0.0.1", 0));
    auto to = *net::Address::parse_ip("127.0.0.1", h.ports.ports[2]);
    const uint64_t id = 0x0123456789abcdefull;
    std::array<std::byte, 2048> buf{};
    auto send = [&](size_t size, uint64_t counter, std::vector<std::byte>* copy = nullptr) {
        auto framed = tx.seal(buf.data() + 64, size, id, counter);
        if (copy) copy->assign(framed.begin(), framed.end());
        ::sendto(peer.fd(), framed.data(), framed.size(), 0, to.sockaddr_ptr(), to.length());
    };
    // The size of the next reply's payload, or -1 for none yet.
    auto reply = [&]() -> ssize_t {
        ssize_t n = ::recv(peer.fd(), buf.data() + 64, 1500, MSG_DONTWAIT);
        if (n <= 0) return -1;
        std::span<std::byte> d(buf.data() + 64, static_cast<size_t>(n));
        auto hdr = crypto::parse_header(d);
        if (!hdr || hdr->session_id != id) return -2;
        auto plain = rx.open(d, *hdr);
        return plain ? static_cast<ssize_t>(plain->size()) : -2;
    };

    send(100, 0);
    ssize_t got = -1;
    ASSERT_TRUE(run_until(h, [&] { return (got = reply()) != -1; }));
    EXPECT_EQ(got, 100);
    std::vector<std::byte> keepalive;
    send(0, 1, &keepalive);
    ASSERT_TRUE(run_until(h, [&] { return (got = reply()) != -1; }));
    EXPECT_EQ(got, 0);  // an authenticated empty datagram of the session
    // A replayed keepalive gets nothing: one answer per keepalive.
    ::sendto(peer.fd(), keepalive.data(), keepalive.size(), 0, to.sockaddr_ptr(), to.length());
    ASSERT_TRUE(run_until(h, [&] { return drops(h.server_metrics, metrics::DropReason::replay) == 1; }));
    EXPECT_EQ(reply(), -1);
    // Only the data went upstream.
    EXPECT_EQ(h.server_metrics.get(metrics::Family::bytes, metrics::Direction::upstream), 100u);
    EXPECT_EQ(h.server_metrics.get(metrics::Family::packets, metrics::Direction::upstream), 1u);
}

namespace {
// A client relay that hops only on a stall (500 ms), for a silent application.
config::Options stall_only(config::Options co) {
    co.hop_interval = 600s;
    co.hop_on_stall = 500ms;
    return co;
}
}  // namespace

TEST(RelayLoopbackSession, AnsweredKeepalivesNeitherStallASilentSessionNorReachTheApplication) {
    Harness h("127.0.0.1", config::Mode::session);
    h.replace_session_client(stall_only(h.client_options));
    ASSERT_EQ(h.round_trip(1), 1u);
    // The application now only listens; keepalives go out after 1 s.
    auto until = std::chrono::steady_clock::now() + 3s;
    std::array<std::byte, 2048> buf;
    size_t delivered = 0;
    while (std::chrono::steady_clock::now() < until) {
        event_base_loop(h.base.get(), EVLOOP_NONBLOCK);
        while (::recv(h.app.fd(), buf.data(), buf.size(), MSG_DONTWAIT) >= 0) ++delivered;
    }
    EXPECT_EQ(h.client_metrics.get(metrics::Family::hops, metrics::HopReason::stall), 0u);
    EXPECT_EQ(delivered, 0u);
}

TEST(RelayLoopbackSession, SilentApplicationBehindADeadPathGetsAStallHop) {
    Harness h("127.0.0.1", config::Mode::session);
    h.replace_session_client(stall_only(h.client_options));
    ASSERT_EQ(h.round_trip(1), 1u);
    // The path dies after the last reply and the application sends nothing
    // more (a download-only QUIC client waiting for data): only the
    // keepalive, unanswered, can reveal the stall.
    h.server->shutdown();
    EXPECT_TRUE(run_until(
        h, [&] { return h.client_metrics.get(metrics::Family::hops, metrics::HopReason::stall) >= 1; }, 5s));
}

// --state-file in session mode (docs/protocol.md, "Restarts"): a server relay
// that crashed and came back with its file carries the session on. Without
// the file the new process would answer with counters from 0 again, which
// the client relay refuses as replays (and which reuse nonces).
TEST(RelayLoopbackSession, ServerRestartedWithItsStateFileCarriesTheSessionOn) {
    Harness h("127.0.0.1", config::Mode::session);
    char dir[] = "/tmp/porthop-restart-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    config::Options so = h.server_options;
    so.state_file = std::string(dir) + "/server.state";
    h.restart_session_server(so);
    ASSERT_EQ(h.round_trip(3000), 3000u);  // well past the replay window
    // What a crash leaves: the file as last saved (the session, saved when it
    // opened), not the one the orderly shutdown below writes.
    std::string crash_copy = so.state_file + ".crash";
    std::filesystem::copy_file(so.state_file, crash_copy);
    h.server.reset();
    std::filesystem::rename(crash_copy, so.state_file);
    h.restart_session_server(so);
    ASSERT_EQ(h.server->sessions(), 1u);
    EXPECT_EQ(h.round_trip(100), 100u);
    EXPECT_EQ(h.server->sessions(), 1u);
    EXPECT_EQ(drops(h.client_metrics, metrics::DropReason::replay), 0u);
    h.server.reset();
    std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------
// What GET /sessions reports (`porthop status`), in both modes.

namespace {

// Both relays' view of the one session after `count` round trips.
void expect_session_reports(Harness& h, const char* mode, size_t count) {
    ASSERT_EQ(h.round_trip(count), count);
    const uint64_t bytes = count * h.payload.size();
    relay::SessionsReport client = h.client->report_sessions(100);
    EXPECT_EQ(client.role, "client");
    EXPECT_EQ(client.mode, mode);
    EXPECT_EQ(client.open, 1u);
    ASSERT_EQ(client.sessions.size(), 1u);
    const relay::SessionReport& c = client.sessions[0];
    EXPECT_EQ(c.peer, h.app.local_address().to_string());
    ASSERT_EQ(c.ports.size(), 1u);
    EXPECT_TRUE(h.ports.contains(c.ports[0]));
    EXPECT_EQ(c.bytes_up, bytes);  // payloads, not framed datagrams
    EXPECT_EQ(c.bytes_down, bytes);
    ASSERT_TRUE(c.hops);
    const uint64_t hops = h.client_metrics.get(metrics::Family::hops, metrics::HopReason::interval);
    EXPECT_GT(hops, 0u);
    EXPECT_EQ(c.hops->by_reason[size_t(metrics::HopReason::interval)], hops);
    EXPECT_EQ(c.hops->last, metrics::HopReason::interval);
    EXPECT_LE(c.hops->port_bytes, 2 * bytes);

    relay::SessionsReport server = h.server->report_sessions(100);
    EXPECT_EQ(server.role, "server");
    EXPECT_EQ(server.mode, mode);
    ASSERT_EQ(server.sessions.size(), 1u);
    const relay::SessionReport& s = server.sessions[0];
    // The port the client relay sends to now is the one the server relay
    // last heard the session on, listed first; the harness hops every
    // millisecond, so a port it left a moment ago (and came back to) may
    // still be listed after it as heard lately.
    ASSERT_FALSE(s.ports.empty());
    EXPECT_EQ(s.ports.front(), c.ports.front());
    for (uint16_t port : s.ports) EXPECT_TRUE(h.ports.contains(port));
    EXPECT_EQ(s.bytes_up, bytes);
    EXPECT_EQ(s.bytes_down, bytes);
    EXPECT_FALSE(s.hops);
}

}  // namespace

TEST(RelayLoopback, SessionsReportShowsPortBytesAndHopsOfEachSession) {
    Harness h;
    expect_session_reports(h, "plain", 300);
}

TEST(RelayLoopbackSession, SessionsReportShowsPortBytesAndHopsOfEachSession) {
    Harness h("127.0.0.1", config::Mode::session);
    expect_session_reports(h, "session", 300);
}

TEST(RelayLoopback, SessionsReportListsTheMostRecentlyActiveFirst) {
    Harness h;
    auto other = net::UdpSocket::open(AF_INET);
    other.bind(*net::Address::parse_ip("127.0.0.1", 0));
    ::sendto(other.fd(), h.payload.data(), 10, 0, h.client_addr.sockaddr_ptr(), h.client_addr.length());
    ASSERT_TRUE(run_until(h, [&] { return h.client->sessions() == 1; }));
    ASSERT_EQ(h.round_trip(5), 5u);  // the harness's application, after `other`
    relay::SessionsReport r = h.client->report_sessions(1);
    EXPECT_EQ(r.open, 2u);
    EXPECT_EQ(r.limit, 1u);
    ASSERT_EQ(r.sessions.size(), 1u);
    EXPECT_EQ(r.sessions[0].peer, h.app.local_address().to_string());
}
