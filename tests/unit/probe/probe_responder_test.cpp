// The server relay's probe responder (src/relay/probe_responder) on
// loopback: it answers only authenticated, fresh requests, never more than
// asked, and within its caps.

#include "probe/probe_responder.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <vector>

using namespace porthop;
using namespace std::chrono_literals;
using metrics::DropReason;

namespace {

uint64_t wall_ms(std::chrono::milliseconds offset = 0ms) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch() + offset)
                                     .count());
}

struct Lab {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry metrics;
    net::QueueBudget budget{1 << 20};
    io::EndpointContext ctx{*base, metrics, budget, 256 * 1024};
    crypto::Key psk;
    std::vector<std::unique_ptr<io::Endpoint>> listeners;
    std::unique_ptr<probe::ProbeResponder> responder;
    net::UdpSocket client = net::UdpSocket::open(AF_INET);
    net::Address client_addr;

    explicit Lab(probe::ProbeCaps caps = {}) {
        crypto::init();
        psk = crypto::generate_key();
        auto lo = *net::Address::parse_ip("127.0.0.1", 0);
        auto s = net::UdpSocket::open(AF_INET);
        s.bind(lo);
        listeners.push_back(std::make_unique<io::Endpoint>(ctx, std::move(s), metrics::Direction::downstream, [] {}));
        client.set_buffer_sizes(0, 8 << 20);
        client.bind(lo);
        client_addr = client.local_address();
        responder = std::make_unique<probe::ProbeResponder>(*base, metrics, psk, 1500, listeners, caps);
    }

    // A sealed request as the client sends it.
    std::vector<std::byte> request(uint64_t id, uint64_t counter, const probe::Request& r,
                                   const crypto::Key* key = nullptr) {
        std::vector<std::byte> buf(200);
        std::byte* plain = buf.data() + crypto::kHeaderSize;
        size_t len = buf.size() - crypto::kOverhead;
        probe::write_request({plain, len}, r);
        probe::ProbeKeys keys(key != nullptr ? *key : psk);
        auto framed = keys.to_server.seal(plain, len, id, counter, crypto::kProbeVersion);
        return {framed.begin(), framed.end()};
    }

    void deliver(std::vector<std::byte> datagram) {
        responder->on_datagram(datagram, client_addr, net::Address{}, 0, Clock::now());
    }

    // Runs the loop for `d`, then returns the bytes the client received
    // that open with the probe key.
    uint64_t run_and_receive(std::chrono::milliseconds d) {
        timeval tv{0, static_cast<suseconds_t>(std::chrono::microseconds(d).count())};
        if (d >= 1s) tv = {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>(d.count() % 1000 * 1000)};
        event_base_loopexit(base.get(), &tv);
        event_base_dispatch(base.get());
        probe::ProbeKeys keys(psk);
        uint64_t bytes = 0;
        std::vector<std::byte> buf(2048);
        for (;;) {
            ssize_t n = ::recv(client.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
            if (n <= 0) break;
            std::span<std::byte> d(buf.data(), static_cast<size_t>(n));
            auto h = crypto::parse_header(d, crypto::kProbeVersion);
            if (h && keys.to_client.open(d, *h)) bytes += static_cast<uint64_t>(n);
        }
        return bytes;
    }

    uint64_t drops(DropReason r) const { return metrics.get(metrics::Family::dropped, r); }
};

}  // namespace

TEST(ProbeResponder, AnswersAnAuthenticatedRequestUpToItsTotal) {
    Lab lab;
    lab.deliver(lab.request(1, 0, {1200, 1'000'000, 60'000, wall_ms()}));
    uint64_t got = lab.run_and_receive(300ms);
    EXPECT_LE(got, 60'000u);
    EXPECT_GE(got, 60'000u - 1200);
}

TEST(ProbeResponder, WrongKeyGetsNothingAndCountsAnAuthDrop) {
    Lab lab;
    crypto::Key other = crypto::generate_key();
    lab.deliver(lab.request(1, 0, {1200, 1'000'000, 60'000, wall_ms()}, &other));
    EXPECT_EQ(lab.run_and_receive(100ms), 0u);
    EXPECT_EQ(lab.drops(DropReason::auth), 1u);
    EXPECT_EQ(lab.responder->active(), 0u);
}

TEST(ProbeResponder, ReplayedRequestBuysNothingMore) {
    // Sending stops 150 ms after the last request; a replayed request taken
    // for a new one would keep it going 150 ms past the replay.
    probe::ProbeCaps caps;
    caps.liveness = 150ms;
    Lab lab(caps);
    auto req = lab.request(1, 0, {1200, 100'000, 1'000'000, wall_ms()});
    lab.deliver(req);
    uint64_t got = lab.run_and_receive(100ms);
    lab.deliver(req);
    EXPECT_EQ(lab.drops(DropReason::replay), 1u);
    got += lab.run_and_receive(300ms);
    // 150 ms at 100 kB/s, a burst and a timer tick late: well below the
    // 25 kB that 250 ms would carry.
    EXPECT_LE(got, 15'000u + 2 * 1200 + 2'000);
    EXPECT_GT(got, 0u);
}

TEST(ProbeResponder, ReplayAfterTheProbeClosedBuysNothing) {
    probe::ProbeCaps caps;
    caps.liveness = 50ms;
    Lab lab(caps);
    auto req = lab.request(1, 0, {1200, 1'000'000, 30'000, wall_ms()});
    lab.deliver(req);
    lab.run_and_receive(200ms);
    ASSERT_EQ(lab.responder->active(), 0u) << "closed once its requests stopped";
    lab.deliver(req);
    EXPECT_EQ(lab.drops(DropReason::replay), 1u) << "its id is remembered";
    EXPECT_EQ(lab.run_and_receive(100ms), 0u);
}

TEST(ProbeResponder, StaleRequestOpensNothing) {
    Lab lab;
    lab.deliver(lab.request(1, 0, {1200, 1'000'000, 30'000, wall_ms(-5min)}));
    lab.deliver(lab.request(2, 0, {1200, 1'000'000, 30'000, wall_ms(5min)}));
    lab.deliver(lab.request(3, 0, {1200, 1'000'000, 30'000, UINT64_MAX}));
    lab.deliver(lab.request(4, 0, {1200, 1'000'000, 30'000, 0}));
    EXPECT_EQ(lab.drops(DropReason::replay), 4u);
    EXPECT_EQ(lab.responder->active(), 0u);
    EXPECT_EQ(lab.run_and_receive(100ms), 0u);
}

TEST(ProbeResponder, RateIsCappedWhateverIsAsked) {
    probe::ProbeCaps caps;
    caps.max_rate = 100'000;
    Lab lab(caps);
    lab.deliver(lab.request(1, 0, {1200, UINT32_MAX, UINT64_MAX, wall_ms()}));
    // 300 ms at the capped rate is 30 kB, plus a burst.
    uint64_t got = lab.run_and_receive(300ms);
    EXPECT_LE(got, 30'000u + 2 * 1200 + 100'000u / 50);
    EXPECT_GT(got, 0u);
}

TEST(ProbeResponder, ConcurrentProbesAreCapped) {
    probe::ProbeCaps caps;
    caps.max_probes = 2;
    Lab lab(caps);
    for (uint64_t id = 1; id <= 3; ++id) lab.deliver(lab.request(id, 0, {1200, 10'000, 10'000, wall_ms()}));
    EXPECT_EQ(lab.responder->active(), 2u);
    EXPECT_EQ(lab.drops(DropReason::session_limit), 1u);
}
