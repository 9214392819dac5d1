// GET /sessions from the relay's side: the per-session figures kept for it
// (rates, hops) and a response that stays bounded with 10,000 sessions.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/fd_limit.hpp"
#include "relay/client_relay.hpp"
#include "relay/framing_plain.hpp"
#include "relay/server_relay.hpp"
#include "relay/session_stats.hpp"
#include "status/sessions_json.hpp"

namespace porthop::relay {
namespace {

using namespace std::chrono_literals;
using metrics::HopReason;

TEST(RateSampler, RateIsTheBytesOfTheLastIntervalOverItsLength) {
    TimePoint t0{};
    RateSampler rate(t0);
    rate.sample(t0 + 2s, 4000, 1000);
    EXPECT_DOUBLE_EQ(rate.up(), 2000);
    EXPECT_DOUBLE_EQ(rate.down(), 500);
    rate.sample(t0 + 3s, 4000, 3000);
    EXPECT_DOUBLE_EQ(rate.up(), 0);
    EXPECT_DOUBLE_EQ(rate.down(), 2000);
}

TEST(RateSampler, SamplesCloserThanASecondExtendTheInterval) {
    TimePoint t0{};
    RateSampler rate(t0);
    rate.sample(t0 + 1s, 1000, 0);
    rate.sample(t0 + 1500ms, 999'999, 0);  // ignored: too soon
    EXPECT_DOUBLE_EQ(rate.up(), 1000);
    rate.sample(t0 + 2s, 3000, 0);
    EXPECT_DOUBLE_EQ(rate.up(), 2000);
}

TEST(HopLog, CountsHopsByReasonAndRemembersTheLast) {
    TimePoint t0{};
    HopLog log;
    EXPECT_FALSE(log.report(t0).last);
    log.record(HopReason::interval, t0);
    log.record(HopReason::interval, t0 + 1s);
    log.record(HopReason::stall, t0 + 2s);
    HopReport r = log.report(t0 + 5s);
    EXPECT_EQ(r.by_reason[size_t(HopReason::interval)], 2u);
    EXPECT_EQ(r.by_reason[size_t(HopReason::stall)], 1u);
    EXPECT_EQ(r.last, HopReason::stall);
    EXPECT_DOUBLE_EQ(r.last_seconds_ago, 3);
}

// ---------------------------------------------------------------------------
// 10,000 sessions: one socket sends from 10,000 loopback addresses
// (127.1.x.y, by IP_PKTINFO), so only the relay holds a socket per session.

constexpr size_t kSessions = 10'000;

net::Address peer_address(size_t i) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f010000u + uint32_t(i) + 1);
    return net::Address::from_sockaddr(reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

void send_from(const net::UdpSocket& sender, size_t i, const net::Address& to) {
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = htonl(0x7f010000u + uint32_t(i) + 1);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof info)] = {};
    char payload[100] = {};
    iovec iov{payload, sizeof payload};
    msghdr msg{};
    msg.msg_name = const_cast<sockaddr*>(to.sockaddr_ptr());
    msg.msg_namelen = to.length();
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    ASSERT_EQ(::sendmsg(sender.fd(), &msg, 0), ssize_t(sizeof payload)) << std::strerror(errno);
}

class TenThousandSessions : public ::testing::Test {
protected:
    void SetUp() override {
        if (net::raise_fd_limit(kSessions + 1000).soft < kSessions + 1000) {
            GTEST_SKIP() << "the hard RLIMIT_NOFILE is below " << kSessions + 1000;
        }
        auto lo = *net::Address::parse_ip("127.0.0.1", 0);
        sink_.bind(lo);  // takes what the sessions send on, never read
        sender_.bind(*net::Address::parse_ip("0.0.0.0", 0));
        options_.max_sessions = kSessions * 2;
        options_.new_session_rate = 0;
        options_.sndbuf = options_.rcvbuf = 0;
    }

    // Sends one datagram from each of kSessions peers to `to`, letting the
    // relay read as it goes, until it holds them all.
    void open_sessions(Relay& relay, const net::Address& to) {
        for (size_t i = 0; i < kSessions; ++i) {
            send_from(sender_, i, to);
            if (i % 64 == 63) event_base_loop(base_.get(), EVLOOP_NONBLOCK);
        }
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (relay.sessions() < kSessions && std::chrono::steady_clock::now() < deadline) {
            event_base_loop(base_.get(), EVLOOP_NONBLOCK);
        }
        ASSERT_EQ(relay.sessions(), kSessions);
    }

    // The /sessions body at `limit`, its size and the time to make it.
    std::string body(const Relay& relay, size_t limit) {
        auto start = std::chrono::steady_clock::now();
        std::string json = status::to_json(relay.report_sessions(limit));
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        std::printf("  %zu sessions, limit %zu: %zu bytes in %lld us\n", relay.sessions(), limit, json.size(),
                    (long long)us.count());
        return json;
    }

    // Peer 0 sends again, alone: the most recently active session.
    void touch_first(const net::Address& to) {
        send_from(sender_, 0, to);
        for (int i = 0; i < 100; ++i) event_base_loop(base_.get(), EVLOOP_NONBLOCK);
    }

    void expect_bounded(const Relay& relay, size_t max_bytes_per_session) {
        for (size_t limit : {size_t(100), size_t(1000)}) {
            std::string json = body(relay, limit);
            auto j = nlohmann::json::parse(json);
            EXPECT_EQ(j["sessions_open"], kSessions);
            EXPECT_EQ(j["limit"], limit);
            ASSERT_EQ(j["sessions"].size(), limit);
            EXPECT_LE(json.size(), 200 + limit * max_bytes_per_session);
            EXPECT_EQ(j["sessions"][0]["peer"], peer_address(0).with_port(sender_.local_address().port()).to_string());
            for (size_t i = 1; i < limit; ++i) {
                ASSERT_GE(j["sessions"][i]["idle_seconds"], j["sessions"][i - 1]["idle_seconds"]) << i;
            }
        }
    }

    loop::EventBasePtr base_ = loop::make_event_base();
    metrics::Registry metrics_;
    net::UdpSocket sink_ = net::UdpSocket::open(AF_INET);
    net::UdpSocket sender_ = net::UdpSocket::open(AF_INET);
    config::Options options_;
};

TEST_F(TenThousandSessions, ClientRelayListsAtMostTheLimit) {
    options_.role = config::Role::client;
    options_.listen = *net::Address::parse_ip("127.0.0.1", 0);
    options_.server_ip = *net::Address::parse_ip("127.0.0.1", 0);
    options_.server_ports.ports = {sink_.local_address().port()};
    ClientRelay<PlainFraming> client(*base_, metrics_, options_);
    open_sessions(client, client.listen_address());
    touch_first(client.listen_address());
    expect_bounded(client, 400);
}

TEST_F(TenThousandSessions, ServerRelayListsAtMostTheLimit) {
    // A free port for the server relay's one-port set: bind, learn, close.
    uint16_t port = 0;
    {
        auto probe = net::UdpSocket::open(AF_INET);
        probe.bind(*net::Address::parse_ip("127.0.0.1", 0));
        port = probe.local_address().port();
    }
    options_.role = config::Role::server;
    options_.listen_ip = *net::Address::parse_ip("127.0.0.1", 0);
    options_.listen_ports.ports = {port};
    options_.upstream = sink_.local_address();
    ServerRelay<PlainFraming> server(*base_, metrics_, options_);
    open_sessions(server, *net::Address::parse_ip("127.0.0.1", port));
    touch_first(*net::Address::parse_ip("127.0.0.1", port));
    expect_bounded(server, 300);
}

}  // namespace
}  // namespace porthop::relay
