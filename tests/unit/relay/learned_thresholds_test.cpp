#include "relay/learned_thresholds.hpp"

#include <gtest/gtest.h>

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;

namespace {
constexpr TimePoint kT0{};
}

TEST(LearnedThresholds, NothingLearnedMeansNoLimit) {
    LearnedThresholds t;
    t.refresh(kT0 + 1h);
    EXPECT_FALSE(t.learned());
    EXPECT_EQ(t.age_limit(), LearnedThresholds::kNever);
    EXPECT_EQ(t.bytes_limit(), LearnedThresholds::kUnlimited);
}

TEST(LearnedThresholds, HopsAtSeventyPercentOfTheTroubleAgeAndVolume) {
    LearnedThresholds t;
    t.troubled(1s, 4'000'000, kT0);
    EXPECT_EQ(t.age_limit(), 700ms);
    EXPECT_EQ(t.bytes_limit(), 2'800'000u);
}

TEST(LearnedThresholds, AStallTeachesTheAgeOnly) {
    LearnedThresholds t;
    t.troubled(2s, LearnedThresholds::kUnlimited, kT0);
    EXPECT_EQ(t.age_limit(), 1400ms);
    EXPECT_EQ(t.bytes_limit(), LearnedThresholds::kUnlimited);
}

TEST(LearnedThresholds, TheLowestTroubleWins) {
    LearnedThresholds t;
    t.troubled(2s, 8'000'000, kT0);
    t.troubled(1s, 9'000'000, kT0);
    EXPECT_EQ(t.age_limit(), 700ms);
    EXPECT_EQ(t.bytes_limit(), 5'600'000u);
}

TEST(LearnedThresholds, WithoutTroubleTheLimitsGrowAQuarterAMinute) {
    LearnedThresholds t;
    t.troubled(1s, 4'000'000, kT0);
    t.refresh(kT0 + 60s);
    EXPECT_EQ(std::chrono::round<std::chrono::milliseconds>(t.age_limit()), 875ms);
    t.refresh(kT0 + 120s);
    EXPECT_NEAR(static_cast<double>(t.bytes_limit()), 4'375'000, 10);
}

TEST(LearnedThresholds, TroubleAfterRelaxingStartsFromTheRelaxedValue) {
    LearnedThresholds t;
    t.troubled(1s, 4'000'000, kT0);
    t.troubled(3s, 9'000'000, kT0 + 60s);  // looser than 1 s x 1.25: keeps 1.25 s
    EXPECT_EQ(std::chrono::round<std::chrono::milliseconds>(t.age_limit()), 875ms);
}

TEST(LearnedThresholds, ATroubleTooEarlyCountsAsTheFloor) {
    LearnedThresholds t;
    t.troubled(10ms, 1000, kT0);
    EXPECT_EQ(t.age_limit(), std::chrono::duration_cast<Clock::duration>(LearnedThresholds::kMinAge * 0.7));
    EXPECT_EQ(t.bytes_limit(), static_cast<uint64_t>(LearnedThresholds::kMinBytes * 0.7));
}
