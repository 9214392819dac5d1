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
        // On time: a hop after its deadline would bring the next one forward.
        TimePoint now = hop.next_hop_at();
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
        size_t recent = hop.recent_capacity();
        size_t from = visited.size() > recent ? visited.size() - recent : 0;
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
    hop.received(hop.port(), 1200, TimePoint{});      // data down
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

TEST(HopSchedule, AvoidsAQuarterOfALargeSetAfterLeavingIt) {
    auto ports = port_range(20000, 1000);
    Rng rng(22);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{});
    EXPECT_EQ(hop.recent_capacity(), 250u);
    std::set<uint16_t> visited{hop.port()};
    for (int i = 0; i < 250; ++i) {
        hop.hop(TimePoint{});
        ASSERT_TRUE(visited.insert(hop.port()).second) << "hop " << i << " went back to a port left before";
    }
}

TEST(HopSchedule, ATinySetAvoidsNoRecentPort) {
    auto ports = port_range(20000, 16);
    Rng rng(23);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{});
    EXPECT_EQ(hop.recent_capacity(), 0u);
}

TEST(HopSchedule, AnOldFlowsTailBringsTheByteTriggerForward) {
    auto ports = port_range(20000, 10);
    Rng rng(24);
    HopSchedule hop({Duration(60000), Duration(0), 1'000'000}, ports, rng, TimePoint{});
    EXPECT_EQ(hop.byte_trigger(), 1'000'000u);
    uint16_t old = hop.port();
    hop.hop(TimePoint{});
    hop.received(old, 200'000, TimePoint{} + 2ms);
    hop.received(hop.port(), 100, TimePoint{} + 3ms);  // the new flow answers: the tail counts
    EXPECT_EQ(hop.byte_trigger(), 750'000u);           // 1 MB less 200 kB x 1.25
    EXPECT_EQ(hop.bytes_on_port(), 100u);              // the tail is not the new flow's
}

TEST(HopSchedule, AnOldFlowsTailBringsTheDeadlineForward) {
    auto ports = port_range(20000, 10);
    Rng rng(25);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0);
    uint16_t old = hop.port();
    ASSERT_TRUE(hop.before_send(t0 + 1000ms, 100));
    hop.received(hop.port(), 1200, t0 + 1010ms);
    hop.received(old, 1200, t0 + 1040ms);  // 40 ms of tail -> 50 ms margin
    EXPECT_EQ(hop.next_hop_at(), t0 + 1950ms);
}

TEST(HopSchedule, BytesFromTheCurrentPortAreNotATail) {
    auto ports = port_range(20000, 10);
    Rng rng(26);
    HopSchedule hop({Duration(60000), Duration(0), 1'000'000}, ports, rng, TimePoint{});
    hop.received(hop.port(), 200'000, TimePoint{});
    EXPECT_EQ(hop.byte_trigger(), 1'000'000u);
    EXPECT_EQ(hop.bytes_on_port(), 200'000u);
}

TEST(HopSchedule, RepliesPastTheDeadlineBringTheNextHopForward) {
    auto ports = port_range(20000, 10);
    Rng rng(28);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0);
    hop.received(hop.port(), 1200, t0 + 1080ms);     // the flow still carries data 80 ms past its deadline
    ASSERT_TRUE(hop.before_send(t0 + 1080ms, 100));  // and the first send after it hops
    EXPECT_EQ(hop.next_hop_at(), t0 + 1980ms);       // 1080 + 1000 - 80 x 1.25
}

TEST(HopSchedule, AFlowSilentPastItsDeadlineDoesNotBringTheNextHopForward) {
    // A blocked port, or a QUIC client waiting out its retransmission timer:
    // the first send after the deadline comes seconds late, but the flow
    // carried nothing after the deadline, so no ISP saw it run late.
    auto ports = port_range(20000, 10);
    Rng rng(34);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0);
    hop.received(hop.port(), 1200, t0 + 900ms);
    ASSERT_TRUE(hop.before_send(t0 + 3000ms, 100));
    hop.received(hop.port(), 1200, t0 + 3010ms);  // the next flow answers
    EXPECT_EQ(hop.next_hop_at(), t0 + 4000ms);
}

TEST(HopSchedule, TailMarginsNeverBringTheTriggersBelowAQuarter) {
    auto ports = port_range(20000, 10);
    Rng rng(27);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 1'000'000}, ports, rng, t0);
    uint16_t old = hop.port();
    hop.hop(t0);
    hop.received(hop.port(), 1, t0 + 1ms);
    hop.received(old, 50'000'000, t0 + 5s);
    EXPECT_EQ(hop.byte_trigger(), 250'000u);
    EXPECT_EQ(hop.next_hop_at(), t0 + 250ms);
}

TEST(HopSchedule, NeverDrawsAPortTheRelayAvoids) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    PortHealth& health = memory.ports;
    for (uint16_t p = 20000; p < 20030; p += 3) health.stalled(p, TimePoint{});  // a third of the set
    Rng rng(29);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{}, &memory);
    for (int i = 0; i < 2000; ++i) {
        ASSERT_NE((hop.port() - 20000) % 3, 0) << "hop " << i << " drew stalled port " << hop.port();
        hop.hop(TimePoint{} + 1s);
    }
}

TEST(HopSchedule, DrawsAStalledPortAgainOnceItsAvoidanceEnds) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    PortHealth& health = memory.ports;
    health.stalled(20000, TimePoint{});
    Rng rng(30);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{}, &memory);
    bool seen = false;
    for (int i = 0; i < 2000 && !seen; ++i) {
        hop.hop(TimePoint{} + PortHealth::kFirst);
        seen = hop.port() == 20000;
    }
    EXPECT_TRUE(seen);
}

TEST(HopSchedule, PreviousPortIsTheOneTheLastHopLeft) {
    auto ports = port_range(20000, 30);
    Rng rng(31);
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, TimePoint{});
    uint16_t first = hop.port();
    hop.hop(TimePoint{});
    EXPECT_EQ(hop.previous_port(), first);
}

TEST(HopSchedule, ABlamedPortIsAvoidedOnceTheNewPortAnswers) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    PortHealth& health = memory.ports;
    Rng rng(32);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0, &memory);
    uint16_t stalled = hop.port();
    hop.hop(t0);
    hop.blame_previous_flow({}, false);
    EXPECT_FALSE(health.avoided(stalled, t0 + 1ms));
    hop.received(hop.port(), 100, t0 + 1ms);
    EXPECT_TRUE(health.avoided(stalled, t0 + 2ms));
}

TEST(HopSchedule, ABlamedPortIsNotAvoidedWhenNothingAnswersAfterTheHop) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    PortHealth& health = memory.ports;
    Rng rng(33);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0, &memory);
    uint16_t stalled = hop.port();
    hop.hop(t0);
    hop.blame_previous_flow({}, false);  // the application had finished: nothing comes
    hop.hop(t0 + 1s);
    hop.received(hop.port(), 100, t0 + 1001ms);
    EXPECT_FALSE(health.avoided(stalled, t0 + 1002ms));
    EXPECT_EQ(health.remembered(), 0u);
}

TEST(HopSchedule, APortReachedWhileTheApplicationIsSilentStartsItsIntervalAtItsFirstDatagram) {
    // A stall hop, then nothing to send for a second (a QUIC client waiting
    // out its retransmission timer): its next datagram must try the new
    // port, not hop on because the interval ran out on a flow that never
    // existed for the ISP.
    auto ports = port_range(20000, 10);
    Rng rng(37);
    TimePoint t0{};
    HopSchedule hop({Duration(500), Duration(0), 0}, ports, rng, t0);
    hop.hop(t0 + 300ms);
    uint16_t reached = hop.port();
    EXPECT_FALSE(hop.before_send(t0 + 1300ms, 1200));
    EXPECT_EQ(hop.port(), reached);
    EXPECT_EQ(hop.next_hop_at(), t0 + 1800ms);
}

TEST(HopSchedule, AKeepaliveStartsTheNewFlowsInterval) {
    // The ISP's flow starts with the keepalive, so its deadline counts from there.
    auto ports = port_range(20000, 10);
    Rng rng(38);
    TimePoint t0{};
    HopSchedule hop({Duration(500), Duration(0), 0}, ports, rng, t0);
    hop.hop(t0 + 300ms);
    hop.carried(t0 + 400ms);
    EXPECT_EQ(hop.next_hop_at(), t0 + 900ms);
    EXPECT_TRUE(hop.before_send(t0 + 1000ms, 100));
}

TEST(HopSchedule, AFlowLeftBeforeTheStallTimeIsNotBlamed) {
    // A scheduled hop, then 50 ms later a stall hop (the wait began on the
    // port before): the port in between never had the stall time to answer.
    auto ports = port_range(20000, 30);
    HopMemory memory;
    Rng rng(35);
    TimePoint t0{};
    HopSchedule hop({Duration(1000), Duration(0), 0}, ports, rng, t0, &memory);
    ASSERT_TRUE(hop.before_send(t0 + 1000ms, 100));
    uint16_t untried = hop.port();
    hop.hop(t0 + 1050ms);
    hop.blame_previous_flow(300ms, false);
    hop.received(hop.port(), 100, t0 + 1060ms);
    EXPECT_FALSE(memory.ports.avoided(untried, t0 + 1070ms));
    EXPECT_EQ(memory.ports.remembered(), 0u);
}

TEST(HopSchedule, AFlowThatWorkedThenStalledTeachesTheAgeOfItsStall) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    Rng rng(34);
    TimePoint t0{};
    HopSchedule hop({Duration(60000), Duration(0), 0}, ports, rng, t0, &memory);
    hop.received(hop.port(), 100, t0 + 1ms);  // the flow works
    uint16_t left = hop.port();
    hop.hop(t0 + 1500ms);  // a stall hop, 500 ms after it went silent
    hop.blame_previous_flow(500ms, false);
    hop.received(hop.port(), 100, t0 + 1510ms);
    EXPECT_EQ(memory.thresholds.age_limit(), 700ms);  // 70 % of 1 s
    EXPECT_FALSE(memory.ports.avoided(left, t0 + 2s));
}

TEST(HopSchedule, HopsAheadOfALearnedAge) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    memory.thresholds.troubled(1s, LearnedThresholds::kUnlimited, TimePoint{});
    Rng rng(35);
    TimePoint t0{};
    HopSchedule hop({Duration(60000), Duration(0), 0}, ports, rng, t0, &memory);
    EXPECT_FALSE(hop.before_send(t0 + 699ms, 100));
    auto reason = hop.before_send(t0 + 700ms, 100);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, porthop::metrics::HopReason::learned);
}

TEST(HopSchedule, HopsAheadOfALearnedVolume) {
    auto ports = port_range(20000, 30);
    HopMemory memory;
    memory.thresholds.troubled(10s, 1'000'000, TimePoint{});
    Rng rng(36);
    HopSchedule hop({Duration(60000), Duration(0), 0}, ports, rng, TimePoint{}, &memory);
    hop.received(hop.port(), 700'000, TimePoint{});
    auto reason = hop.before_send(TimePoint{}, 100);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, porthop::metrics::HopReason::learned);
}
