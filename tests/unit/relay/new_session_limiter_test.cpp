#include "relay/new_session_limiter.hpp"

#include <gtest/gtest.h>

using namespace porthop;
using namespace std::chrono_literals;

namespace {
net::Address ip(const char* text) { return *net::Address::parse_ip(text, 1234); }
}  // namespace

TEST(NewSessionLimiter, AllowsABurstThenHoldsOneSourceToTheRate) {
    relay::NewSessionLimiter limiter(10.0, 5.0);
    TimePoint t0{};
    int allowed = 0;
    for (int i = 0; i < 100; ++i) allowed += limiter.allow(ip("10.0.0.1"), t0);
    EXPECT_EQ(allowed, 5);
    allowed = 0;
    for (int ms = 1; ms <= 1000; ++ms) allowed += limiter.allow(ip("10.0.0.1"), t0 + std::chrono::milliseconds(ms));
    EXPECT_GE(allowed, 9);
    EXPECT_LE(allowed, 11);
}

TEST(NewSessionLimiter, OneFloodingSourceDoesNotLimitAnother) {
    relay::NewSessionLimiter limiter(10.0, 5.0);
    TimePoint t0{};
    for (int i = 0; i < 100; ++i) limiter.allow(ip("10.0.0.1"), t0);
    EXPECT_TRUE(limiter.allow(ip("10.0.0.2"), t0));
}

TEST(NewSessionLimiter, RateZeroMeansNoLimit) {
    relay::NewSessionLimiter limiter(0.0);
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.allow(ip("10.0.0.1"), TimePoint{}));
}

TEST(NewSessionLimiter, CountsPerIpWhateverThePort) {
    relay::NewSessionLimiter limiter(10.0, 2.0);
    TimePoint t0{};
    EXPECT_TRUE(limiter.allow(*net::Address::parse_ip("10.0.0.1", 1), t0));
    EXPECT_TRUE(limiter.allow(*net::Address::parse_ip("10.0.0.1", 2), t0));
    EXPECT_FALSE(limiter.allow(*net::Address::parse_ip("10.0.0.1", 3), t0));
}
