#include "relay/port_health.hpp"

#include <gtest/gtest.h>

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;

namespace {
constexpr TimePoint kT0{};
}

TEST(PortHealth, APortThatNeverStalledIsNotAvoided) {
    PortHealth health;
    EXPECT_FALSE(health.avoided(20000, kT0));
    EXPECT_EQ(health.remembered(), 0u);
}

TEST(PortHealth, AStalledPortIsAvoidedForThirtySeconds) {
    PortHealth health;
    health.stalled(20000, kT0);
    EXPECT_TRUE(health.avoided(20000, kT0 + 29s));
    EXPECT_FALSE(health.avoided(20000, kT0 + 30s));
    EXPECT_FALSE(health.avoided(20001, kT0 + 1s));
}

TEST(PortHealth, StallingAgainAfterItsAvoidanceDoublesIt) {
    PortHealth health;
    health.stalled(20000, kT0);
    health.stalled(20000, kT0 + 40s);
    EXPECT_EQ(health.penalty(20000), 60s);
    EXPECT_TRUE(health.avoided(20000, kT0 + 99s));
    EXPECT_FALSE(health.avoided(20000, kT0 + 100s));
}

TEST(PortHealth, TheAvoidanceGrowsToAnHourAtMost) {
    PortHealth health;
    TimePoint t = kT0;
    for (int i = 0; i < 20; ++i) {
        health.stalled(20000, t);
        t += health.penalty(20000) + 1s;
    }
    EXPECT_EQ(health.penalty(20000), PortHealth::kMax);
}

TEST(PortHealth, MoreStallsWhileAvoidedAreTheSameFailure) {
    PortHealth health;
    health.stalled(20000, kT0);
    health.stalled(20000, kT0 + 1s);  // another session that was on it
    EXPECT_EQ(health.penalty(20000), 30s);
}

TEST(PortHealth, AReplyFromThePortForgetsIt) {
    PortHealth health;
    health.stalled(20000, kT0);
    health.answered(20000);
    EXPECT_FALSE(health.avoided(20000, kT0 + 1s));
    health.stalled(20000, kT0 + 2s);
    EXPECT_EQ(health.penalty(20000), 30s);
}

TEST(PortHealth, APortQuietForLongStartsAgainAtThirtySeconds) {
    PortHealth health;
    health.stalled(20000, kT0);
    health.stalled(20000, kT0 + 40s);  // 60 s, until 100 s
    health.stalled(20000, kT0 + 100s + PortHealth::kForget);
    EXPECT_EQ(health.penalty(20000), 30s);
}
