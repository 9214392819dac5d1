#include "relay/hop_schedule.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "port_range.hpp"

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;

TEST(HopSchedule, NextHopFallsWithinIntervalPlusOrMinusJitter) {
    auto ports = port_range(20000, 50);
    Rng rng(1);
    HopPolicy policy{Duration(1000), Duration(200), 0};
    TimePoint t0{};
    HopSchedule hop(policy, ports, rng, t0);
    std::set<int64_t> seen;
    for (int i = 0; i < 10000; ++i) {
        TimePoint now = t0 + std::chrono::seconds(i);
        hop.hop(now);
        auto gap = std::chrono::duration_cast<Duration>(hop.next_hop_at() - now).count();
        ASSERT_GE(gap, 800);
        ASSERT_LE(gap, 1200);
        seen.insert(gap);
    }
    // The jitter is really drawn: both ends of the range are reached.
    EXPECT_EQ(*seen.begin(), 800);
    EXPECT_EQ(*seen.rbegin(), 1200);
}

TEST(HopSchedule, ZeroJitterHopsExactlyOnTheInterval) {
    auto ports = port_range(20000, 10);
    Rng rng(2);
    HopSchedule hop({Duration(500), Duration(0), 0}, ports, rng, TimePoint{});
    EXPECT_EQ(hop.next_hop_at(), TimePoint{} + 500ms);
}

TEST(HopSchedule, NeverHopsToTheCurrentPort) {
    auto ports = port_range(20000, 2);
    Rng rng(3);
    HopSchedule hop({Duration(1000), Duration(200), 0}, ports, rng, TimePoint{});
    for (int i = 0; i < 10000; ++i) {
        uint16_t before = hop.port();
        hop.hop(TimePoint{});
        ASSERT_NE(hop.port(), before);
    }
}

TEST(HopSchedule, DrawsEveryPortOfAHundredPortSetOverTenThousandHops) {
    auto ports = port_range(30000, 100);
    Rng rng(4);
    HopSchedule hop({Duration(1000), Duration(200), 0}, ports, rng, TimePoint{});
    std::vector<int> hits(100);
    for (int i = 0; i < 10000; ++i) {
        hop.hop(TimePoint{});
        ASSERT_GE(hop.port(), 30000);
        ASSERT_LT(hop.port(), 30100);
        ++hits[hop.port() - 30000];
    }
    for (int h : hits) {
        EXPECT_GT(h, 50);   // ~100 expected: no port starved
        EXPECT_LT(h, 160);  // nor favoured
    }
}

TEST(HopSchedule, DoesNotGoBackToARecentPort) {
    auto ports = port_range(20000, 50);
    Rng rng(21);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{});
    std::vector<uint16_t> visited{hop.port()};
    for (int i = 0; i < 5000; ++i) {
        hop.hop(TimePoint{});
        size_t from = visited.size() > HopSchedule::kRecentPorts ? visited.size() - HopSchedule::kRecentPorts : 0;
        for (size_t k = from; k < visited.size(); ++k) {
            ASSERT_NE(hop.port(), visited[k])
                << "hop " << i << " went back to a port left " << visited.size() - k << " hops ago";
        }
        visited.push_back(hop.port());
    }
}

TEST(HopSchedule, SinglePortSetStaysOnItsPort) {
    std::vector<uint16_t> ports{443};
    Rng rng(5);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{});
    hop.hop(TimePoint{});
    EXPECT_EQ(hop.port(), 443);
}

TEST(HopSchedule, BeforeSendHopsOnceTheDeadlinePasses) {
    auto ports = port_range(20000, 10);
    Rng rng(6);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0);
    uint16_t first = hop.port();
    EXPECT_FALSE(hop.before_send(t0 + 999ms, 100));
    EXPECT_EQ(hop.port(), first);
    auto reason = hop.before_send(t0 + 1000ms, 100);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, porthop::metrics::HopReason::interval);
    EXPECT_NE(hop.port(), first);
    EXPECT_EQ(hop.next_hop_at(), t0 + 2000ms);
}

TEST(HopSchedule, BeforeSendHopsAfterHopBytesOnThePort) {
    auto ports = port_range(20000, 10);
    Rng rng(7);
    HopSchedule hop({Duration(60000), Duration(0), 1000}, ports, rng, TimePoint{});
    EXPECT_FALSE(hop.before_send(TimePoint{}, 600));
    EXPECT_FALSE(hop.before_send(TimePoint{}, 600));  // 1200 sent: the next send hops
    auto reason = hop.before_send(TimePoint{}, 10);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, porthop::metrics::HopReason::bytes);
    EXPECT_EQ(hop.bytes_on_port(), 10u);
}

TEST(HopSchedule, SessionsStartingTogetherDoNotHopInLockStep) {
    auto ports = port_range(20000, 10);
    Rng rng(8);
    std::set<TimePoint> deadlines;
    for (int i = 0; i < 20; ++i) {
        HopSchedule hop({Duration(10000), Duration(2000), 0}, ports, rng, TimePoint{});
        deadlines.insert(hop.next_hop_at());
    }
    EXPECT_GT(deadlines.size(), 15u);
}

TEST(HopSchedule, HopBytesCountBothDirections) {
    auto ports = port_range(20000, 10);
    Rng rng(12);
    HopSchedule hop({Duration(60000), Duration(0), 1000}, ports, rng, TimePoint{});
    EXPECT_FALSE(hop.before_send(TimePoint{}, 100));  // an ACK up
    hop.received(1200);                               // data down
    auto reason = hop.before_send(TimePoint{}, 100);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, porthop::metrics::HopReason::bytes);
}

TEST(HopSchedule, ShorterIntervalFromSighupBringsTheNextHopForward) {
    auto ports = port_range(20000, 10);
    Rng rng(13);
    TimePoint t0{};
    HopSchedule hop({Duration(60000), Duration(0), 0}, ports, rng, t0);
    hop.set_policy({Duration(1000), Duration(0), 0}, t0 + 200ms);
    EXPECT_EQ(hop.next_hop_at(), t0 + 1000ms);
}

TEST(HopSchedule, LongerIntervalFromSighupKeepsTheHopAlreadyDue) {
    auto ports = port_range(20000, 10);
    Rng rng(14);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0);
    hop.set_policy({Duration(60000), Duration(0), 0}, t0 + 200ms);
    EXPECT_EQ(hop.next_hop_at(), t0 + 1000ms);
}
