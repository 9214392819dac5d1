// A full server relay table makes room for a newcomer by evicting a session
// the upstream never answered (what a flood of spoofed sources, or of
// replayed session datagrams, leaves), and never one it answered. In both
// modes.

#include <gtest/gtest.h>
#include <sys/random.h>

#include <array>
#include <vector>

#include "crypto/session_crypto.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/batch_io.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"
#include "relay/server_relay.hpp"

using namespace porthop;
using namespace std::chrono_literals;

namespace {

struct FullServer {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry metrics;
    net::UdpSocket upstream = net::UdpSocket::open(AF_INET);
    std::unique_ptr<loop::Event> echo_ev;
    net::RecvBatch batch;
    std::unique_ptr<relay::Relay> server;
    net::Address listen;
    std::vector<net::UdpSocket> peers;
    config::Mode mode;
    crypto::Key psk;

    FullServer(bool upstream_answers, config::Mode m) : mode(m) {
        crypto::init();
        psk = crypto::generate_key();
        auto lo = *net::Address::parse_ip("127.0.0.1", 0);
        upstream.bind(lo);
        if (upstream_answers) {
            echo_ev = std::make_unique<loop::Event>(*base, upstream.fd(), EV_READ | EV_PERSIST, [this](short) {
                auto r = batch.receive(upstream);
                for (size_t i = 0; i < r.count; ++i) {
                    auto out = net::OutDatagram::make(batch.payload(i), &batch.source(i));
                    net::send_batch(upstream, std::span(&out, 1));
                }
            });
            echo_ev->add();
        }
        // A random port may be taken by another process: draw again.
        for (int attempt = 0; attempt < 20 && !server; ++attempt) {
            uint16_t port = 0;
            getrandom(&port, sizeof port, 0);
            port = static_cast<uint16_t>(30000 + port % 20000);
            config::Options o;
            o.role = config::Role::server;
            o.listen_ip = lo;
            o.listen_ports.ports = {port};
            o.upstream = upstream.local_address();
            o.max_sessions = 4;
            o.mode = mode;
            try {
                if (mode == config::Mode::session) {
                    server = std::make_unique<relay::ServerRelay<relay::SessionFraming>>(*base, metrics, o, &psk);
                } else {
                    server = std::make_unique<relay::ServerRelay<relay::PlainFraming>>(*base, metrics, o);
                }
                listen = lo.with_port(port);
            } catch (const net::NetError&) {}
        }
        if (!server) throw std::runtime_error("no free port for the server relay");
    }

    // A new peer (in session mode: a new session id) sends one datagram;
    // the loop runs until the server has handled it (a session opened, or a
    // drop counted).
    void new_peer_sends() {
        peers.push_back(net::UdpSocket::open(AF_INET));
        peers.back().bind(*net::Address::parse_ip("127.0.0.1", 0));
        uint64_t before = handled();
        std::array<std::byte, crypto::kOverhead + 1> buf{};
        std::span<const std::byte> datagram(buf.data() + crypto::kHeaderSize, 1);
        if (mode == config::Mode::session) {
            crypto::Cipher tx(psk, crypto::Direction::upstream);
            datagram = tx.seal(buf.data() + crypto::kHeaderSize, 1, crypto::random_session_id(), 0);
        }
        ::sendto(peers.back().fd(), datagram.data(), datagram.size(), 0, listen.sockaddr_ptr(), listen.length());
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (handled() == before && std::chrono::steady_clock::now() < deadline) {
            event_base_loop(base.get(), EVLOOP_NONBLOCK);
        }
        // Let an answering upstream's reply come back before going on.
        auto settle = std::chrono::steady_clock::now() + 50ms;
        while (std::chrono::steady_clock::now() < settle) event_base_loop(base.get(), EVLOOP_NONBLOCK);
    }
    uint64_t handled() const {
        return metrics.get(metrics::Family::sessions_opened) +
               metrics.get(metrics::Family::dropped, metrics::DropReason::session_limit);
    }
    // Serves for d of real time: the eviction rule reads the clock.
    void run_for(std::chrono::milliseconds d) {
        timeval tv{static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>(d.count() % 1000 * 1000)};
        event_base_loopexit(base.get(), &tv);
        event_base_dispatch(base.get());
    }
    uint64_t evicted() const { return metrics.get(metrics::Family::sessions_closed, metrics::CloseReason::evicted); }
};

class ServerEviction : public ::testing::TestWithParam<config::Mode> {};

}  // namespace

TEST_P(ServerEviction, FullTableEvictsASessionTheUpstreamNeverAnswered) {
    FullServer s(false, GetParam());
    for (int i = 0; i < 4; ++i) s.new_peer_sends();
    ASSERT_EQ(s.server->sessions(), 4u);
    s.run_for(1100ms);  // the unanswered sessions pass the one-second mark
    s.new_peer_sends();
    EXPECT_EQ(s.evicted(), 1u);
    EXPECT_EQ(s.server->sessions(), 4u);
    EXPECT_EQ(s.metrics.get(metrics::Family::dropped, metrics::DropReason::session_limit), 0u);
}

TEST_P(ServerEviction, FullTableOfAnsweredSessionsRefusesTheNewcomer) {
    FullServer s(true, GetParam());
    for (int i = 0; i < 4; ++i) s.new_peer_sends();
    ASSERT_EQ(s.server->sessions(), 4u);
    s.run_for(1100ms);
    s.new_peer_sends();
    EXPECT_EQ(s.evicted(), 0u);
    EXPECT_EQ(s.metrics.get(metrics::Family::dropped, metrics::DropReason::session_limit), 1u);
}

TEST_P(ServerEviction, YoungUnansweredSessionsAreNotEvicted) {
    FullServer s(false, GetParam());
    for (int i = 0; i < 4; ++i) s.new_peer_sends();
    s.new_peer_sends();  // at once: all four are younger than a second
    EXPECT_EQ(s.evicted(), 0u);
    EXPECT_EQ(s.metrics.get(metrics::Family::dropped, metrics::DropReason::session_limit), 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, ServerEviction, ::testing::Values(config::Mode::plain, config::Mode::session),
                         [](const auto& info) { return std::string(config::to_string(info.param)); });
