#include "relay/session_table.hpp"

#include <gtest/gtest.h>

using namespace porthop;
using namespace std::chrono_literals;

namespace {
struct FakeSession {
    TimePoint last_active;
    bool broken = false;
};
net::Address peer(uint16_t port) { return *net::Address::parse_ip("10.0.0.1", port); }
auto never_broken = [](const FakeSession&) { return false; };
}  // namespace

TEST(SessionTable, ExpiresOnlySessionsIdleForTheTimeout) {
    metrics::Registry m;
    relay::SessionTable<FakeSession> table(m, 10);
    TimePoint t0{};
    table.insert(peer(1), std::make_unique<FakeSession>(FakeSession{t0}));
    table.insert(peer(2), std::make_unique<FakeSession>(FakeSession{t0 + 500ms}));
    EXPECT_EQ(table.expire(t0 + 999ms, 1000ms, never_broken), 0u);
    EXPECT_EQ(table.expire(t0 + 1000ms, 1000ms, never_broken), 1u);
    EXPECT_EQ(table.find(peer(1)), nullptr);
    EXPECT_NE(table.find(peer(2)), nullptr);
    EXPECT_EQ(m.get(metrics::Family::sessions), 1u);
    EXPECT_EQ(m.get(metrics::Family::sessions_closed, metrics::CloseReason::idle), 1u);
}

TEST(SessionTable, ClosesBrokenSessionsWithReasonError) {
    metrics::Registry m;
    relay::SessionTable<FakeSession> table(m, 10);
    table.insert(peer(1), std::make_unique<FakeSession>(FakeSession{TimePoint{}, true}));
    EXPECT_EQ(table.expire(TimePoint{}, 1000ms, [](const FakeSession& s) { return s.broken; }), 1u);
    EXPECT_EQ(m.get(metrics::Family::sessions_closed, metrics::CloseReason::error), 1u);
}

TEST(SessionTable, IsFullAtMaxSessions) {
    metrics::Registry m;
    relay::SessionTable<FakeSession> table(m, 2);
    table.insert(peer(1), std::make_unique<FakeSession>());
    EXPECT_FALSE(table.full());
    table.insert(peer(2), std::make_unique<FakeSession>());
    EXPECT_TRUE(table.full());
    EXPECT_EQ(m.get(metrics::Family::sessions_opened), 2u);
}

TEST(SessionTable, CountsRemainingSessionsClosedByShutdown) {
    metrics::Registry m;
    {
        relay::SessionTable<FakeSession> table(m, 10);
        table.insert(peer(1), std::make_unique<FakeSession>());
        table.insert(peer(2), std::make_unique<FakeSession>());
    }
    EXPECT_EQ(m.get(metrics::Family::sessions_closed, metrics::CloseReason::shutdown), 2u);
    EXPECT_EQ(m.get(metrics::Family::sessions), 0u);
}

TEST(SessionTable, KeysIpv6PeersByAddressAndPort) {
    metrics::Registry m;
    relay::SessionTable<FakeSession> table(m, 10);
    auto a = *net::Address::parse_ip_port("[fd00::1]:5000");
    auto b = *net::Address::parse_ip_port("[fd00::1]:5001");
    table.insert(a, std::make_unique<FakeSession>());
    EXPECT_NE(table.find(a), nullptr);
    EXPECT_EQ(table.find(b), nullptr);
}
