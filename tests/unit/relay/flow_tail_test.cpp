#include "relay/flow_tail.hpp"

#include <gtest/gtest.h>

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;

namespace {
constexpr TimePoint kT0{};
}

TEST(FlowTail, NoFlowLeftMeansNoMargin) {
    FlowTail tail;
    EXPECT_EQ(tail.byte_margin(), 0u);
    EXPECT_EQ(tail.time_margin(), Clock::duration::zero());
}

TEST(FlowTail, RepliesFromTheLeftPortAreItsTail) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});
    tail.arrived(20001, 4000, kT0 + 8ms);
    EXPECT_TRUE(tail.successor_answered());
    EXPECT_EQ(tail.byte_margin(), 5000u);  // 4000 x kSafety 1.25
    EXPECT_EQ(tail.time_margin(), 10ms);   // 8 ms x 1.25
}

TEST(FlowTail, ATailCountsOnlyOnceTheNextFlowAnswered) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});
    EXPECT_FALSE(tail.arrived(20001, 4000, kT0 + 8ms));
    EXPECT_EQ(tail.byte_margin(), 0u);
    EXPECT_TRUE(tail.successor_answered());
    EXPECT_EQ(tail.byte_margin(), 5000u);
    EXPECT_TRUE(tail.arrived(20001, 800, kT0 + 9ms));  // later replies count at once
    EXPECT_EQ(tail.byte_margin(), 6000u);
}

TEST(FlowTail, TheTailBeforeABlockedPortIsDiscarded) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});             // to a port the ISP blocks:
    tail.arrived(20001, 90'000, kT0 + 1s);    // the old flow carries on
    tail.left(20002, kT0 + 1s, 0, {});        // the stall hop
    EXPECT_FALSE(tail.successor_answered());  // the next port answers: 20002 has no tail
    EXPECT_EQ(tail.byte_margin(), 0u);
    EXPECT_EQ(tail.time_margin(), Clock::duration::zero());
}

TEST(FlowTail, RepliesFromAPortNotLeftRecentlyAreNotATail) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});
    tail.successor_answered();
    EXPECT_FALSE(tail.arrived(20002, 4000, kT0 + 8ms));
    EXPECT_EQ(tail.byte_margin(), 0u);
}

TEST(FlowTail, BytesAndTimePastTheTriggerCountWithTheTail) {
    FlowTail tail;
    tail.left(20001, kT0, 800, 4ms);
    EXPECT_EQ(tail.byte_margin(), 1000u);
    EXPECT_EQ(tail.time_margin(), 5ms);
    tail.successor_answered();
    tail.arrived(20001, 800, kT0 + 4ms);
    EXPECT_EQ(tail.byte_margin(), 2000u);
    EXPECT_EQ(tail.time_margin(), 10ms);
}

TEST(FlowTail, ALongerTailRaisesTheMarginAtOnce) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});
    tail.successor_answered();
    tail.arrived(20001, 1000, kT0 + 1ms);
    tail.left(20002, kT0 + 10ms, 0, {});
    tail.successor_answered();
    tail.arrived(20002, 8000, kT0 + 12ms);
    EXPECT_EQ(tail.byte_margin(), 10000u);
}

TEST(FlowTail, ShorterTailsLowerTheMarginByAnEighthOfTheDifferenceEach) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});
    tail.successor_answered();
    tail.arrived(20001, 8000, kT0 + 1ms);
    // Flows without a tail; each counts once it leaves the window of the
    // last kFlows, the first of them after kFlows + 1 more hops.
    for (uint16_t p = 20002; p < 20002 + FlowTail::kFlows; ++p) {
        tail.left(p, kT0 + 10ms, 0, {});
        tail.successor_answered();
    }
    EXPECT_EQ(tail.byte_margin(), 10000u);  // the 8000-byte flow itself settles without change
    tail.left(30000, kT0 + 20ms, 0, {});
    EXPECT_EQ(tail.byte_margin(), 8750u);  // (8000 - 1000) x 1.25
}

TEST(FlowTail, TheNewestFlowOnAPortTakesItsTail) {
    FlowTail tail;
    tail.left(20001, kT0, 0, {});
    tail.left(20002, kT0 + 100ms, 0, {});
    tail.left(20001, kT0 + 200ms, 0, {});
    tail.successor_answered();
    tail.arrived(20001, 100, kT0 + 202ms);
    EXPECT_EQ(tail.time_margin(), 2500us);  // 2 ms after the newest, not 202 ms after the first
}
