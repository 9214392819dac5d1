// The probe's verdict (src/probe/rate_analysis) on synthetic rate series:
// a long flow at R and one at R/4 sampled every 250 ms, fresh flows at R.

#include "probe/rate_analysis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

using namespace porthop;
using namespace porthop::probe;

namespace {

constexpr double kR = 1'000'000;  // bytes/s
constexpr double kDt = 0.25;
constexpr double kSlowRate = 25'000;  // a throttled flow

// A flow at `rate` for `seconds`; rate_at(age, bytes so far) gives the
// rate the flow gets.
FlowSeries flow(double rate, double seconds, const std::function<double(double, double)>& rate_at) {
    FlowSeries f;
    f.requested_rate = rate;
    double bytes = 0;
    for (double age = kDt; age <= seconds + 1e-9; age += kDt) {
        double got = rate_at(age - kDt, bytes) * kDt;
        bytes += got;
        f.samples.push_back({age, kDt, got, bytes});
    }
    return f;
}

std::vector<FlowSeries> fresh_flows(size_t n, double rate = kR) {
    std::vector<FlowSeries> out;
    for (size_t i = 0; i < n; ++i) out.push_back(flow(rate, 1.0, [rate](double, double) { return rate; }));
    return out;
}

// Throttled from `age_limit` seconds on (0: never).
std::function<double(double, double)> by_age(double rate, double age_limit) {
    return [=](double age, double) { return age_limit > 0 && age >= age_limit ? kSlowRate : rate; };
}

// Throttled once `limit` bytes crossed (0: never).
std::function<double(double, double)> by_volume(double rate, double limit) {
    return [=](double, double bytes) { return limit > 0 && bytes >= limit ? kSlowRate : rate; };
}

}  // namespace

TEST(ProbeRateAnalysis, AgeThrottleHitsBothFlowsAtTheSameAge) {
    auto fast = flow(kR, 18, by_age(kR, 4));
    auto slow = flow(kR / 4, 18, by_age(kR / 4, 4));
    Analysis a = analyze(fast, slow, fresh_flows(8));
    EXPECT_EQ(a.kind, ThrottleKind::age);
    ASSERT_TRUE(a.fast && a.slow);
    EXPECT_NEAR(a.fast->age_s, 4.0, 0.26);
    EXPECT_NEAR(a.fast->bytes, 4'000'000, 260'000);
    EXPECT_NEAR(a.slow->age_s, 4.0, 0.26);
    ASSERT_TRUE(a.hop_interval);
    EXPECT_EQ(*a.hop_interval, std::chrono::milliseconds(2000));
    EXPECT_FALSE(a.hop_bytes);
    EXPECT_NEAR(a.throttled_rate, kSlowRate, 1);
    EXPECT_NEAR(a.fresh_rate, kR, 1);
}

TEST(ProbeRateAnalysis, VolumeThrottleHitsTheSlowerFlowLaterAtTheSameBytes) {
    auto fast = flow(kR, 18, by_volume(kR, 3'000'000));
    auto slow = flow(kR / 4, 18, by_volume(kR / 4, 3'000'000));
    Analysis a = analyze(fast, slow, fresh_flows(8));
    EXPECT_EQ(a.kind, ThrottleKind::volume);
    ASSERT_TRUE(a.fast && a.slow);
    EXPECT_NEAR(a.fast->bytes, 3'000'000, 250'000);
    EXPECT_NEAR(a.slow->age_s, 12.0, 0.26);
    ASSERT_TRUE(a.hop_bytes);
    EXPECT_EQ(*a.hop_bytes, 1'500'000u);
    EXPECT_FALSE(a.hop_interval);
}

TEST(ProbeRateAnalysis, VolumeThrottleOutOfReachOfTheSlowerFlowIsStillVolume) {
    // 10 s at R/4 carry 2.5 MB: below the limit; by age it would have hit.
    auto fast = flow(kR, 10, by_volume(kR, 3'000'000));
    auto slow = flow(kR / 4, 10, by_volume(kR / 4, 3'000'000));
    Analysis a = analyze(fast, slow, fresh_flows(4));
    EXPECT_EQ(a.kind, ThrottleKind::volume);
    EXPECT_FALSE(a.slow);
    EXPECT_TRUE(a.hop_bytes);
}

TEST(ProbeRateAnalysis, ThrottleAboveTheSlowerFlowsRateIsUnclearNotVolume) {
    // Throttled to 400 kB/s by age: the R/4 flow (250 kB/s) cannot show it,
    // so its staying fast proves nothing; both settings are recommended.
    auto fast = flow(kR, 18, [](double age, double) { return age >= 4 ? 400'000.0 : kR; });
    auto slow = flow(kR / 4, 18, by_age(kR / 4, 0));
    Analysis a = analyze(fast, slow, fresh_flows(8));
    EXPECT_EQ(a.kind, ThrottleKind::unclear);
    EXPECT_TRUE(a.hop_interval);
    EXPECT_TRUE(a.hop_bytes);
}

TEST(ProbeRateAnalysis, NoThrottleMeansNoRecommendation) {
    auto fast = flow(kR, 18, by_age(kR, 0));
    auto slow = flow(kR / 4, 18, by_age(kR / 4, 0));
    Analysis a = analyze(fast, slow, fresh_flows(8));
    EXPECT_EQ(a.kind, ThrottleKind::none);
    EXPECT_FALSE(a.fast);
    EXPECT_FALSE(a.hop_interval);
    EXPECT_FALSE(a.hop_bytes);
    EXPECT_NEAR(a.long_rate, kR, 1);
}

TEST(ProbeRateAnalysis, ASlowLinkIsNotAThrottle) {
    // Everything, fresh flows included, gets a third of what was asked.
    auto fast = flow(kR, 18, by_age(kR / 3, 0));
    auto slow = flow(kR / 4, 18, by_age(kR / 4, 0));
    Analysis a = analyze(fast, slow, fresh_flows(8, kR / 3));
    EXPECT_EQ(a.kind, ThrottleKind::none);
}

TEST(ProbeRateAnalysis, NoisySeriesWithoutThrottleStayUnthrottled) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> noise(0.75, 1.25);
    int dips = 0;
    auto noisy = [&](double rate) {
        return [&, rate](double, double) {
            // A short dip now and then (a busy host), never sustained.
            if (++dips % 13 == 0) return rate * 0.1;
            return rate * noise(rng);
        };
    };
    auto fast = flow(kR, 30, noisy(kR));
    auto slow = flow(kR / 4, 30, noisy(kR / 4));
    Analysis a = analyze(fast, slow, fresh_flows(8));
    EXPECT_EQ(a.kind, ThrottleKind::none);
}

TEST(ProbeRateAnalysis, NoisyAgeThrottleIsFoundNearItsOnset) {
    // Rates +-30%, and once throttled a burst let through now and then
    // (1 sample in 12): over many draws the onset stays within 0.75 s of
    // 4 s (the acceptance is 25%, 1 s).
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<double> noise(0.7, 1.3);
        auto noisy_age = [&](double rate) {
            return [&, rate](double age, double) {
                if (age >= 4) return noise(rng) > 1.25 ? rate : kSlowRate * noise(rng);
                return rate * noise(rng);
            };
        };
        auto fast = flow(kR, 18, noisy_age(kR));
        auto slow = flow(kR / 4, 18, noisy_age(kR / 4));
        Analysis a = analyze(fast, slow, fresh_flows(8));
        EXPECT_EQ(a.kind, ThrottleKind::age) << "seed " << seed;
        ASSERT_TRUE(a.fast) << "seed " << seed;
        EXPECT_NEAR(a.fast->age_s, 4.0, 0.75) << "seed " << seed;
    }
}

TEST(ProbeRateAnalysis, ADropInTheLastSecondIsNotAnOnset) {
    // Three slow samples at the very end: too few to call it a throttle.
    auto fast = flow(kR, 18, by_age(kR, 17.25));
    auto slow = flow(kR / 4, 18, by_age(kR / 4, 0));
    EXPECT_FALSE(find_onset(fast, kR));
    EXPECT_EQ(analyze(fast, slow, fresh_flows(8)).kind, ThrottleKind::none);
}

TEST(ProbeRateAnalysis, OnsetBytesAreTheFlowBytesBeforeTheFirstThrottledSample) {
    auto fast = flow(kR, 10, by_age(kR, 2));
    auto onset = find_onset(fast, kR);
    ASSERT_TRUE(onset);
    EXPECT_DOUBLE_EQ(onset->age_s, 2.0);
    EXPECT_DOUBLE_EQ(onset->bytes, 2'000'000);
}

namespace {

// Flows capped at `cap` from their first byte; fresh flows of one second
// every two seconds from 0.5 s on, sampled on the long flows' ticks. The
// long flows get `long_rate_with` while a fresh flow runs (the cap: the
// same; a shared bottleneck: less).
struct Parallel {
    FlowSeries fast, slow;
    std::vector<FlowSeries> fresh;
};

Parallel parallel(double cap, double long_rate_with, double fresh_rate) {
    auto in_fresh = [](double age) { return age >= 0.5 && std::fmod(age - 0.5, 2.0) < 1.0; };
    Parallel p;
    p.fast = flow(kR, 18, [&](double age, double) { return in_fresh(age) ? long_rate_with : std::min(kR, cap); });
    p.slow = flow(kR / 4, 18, [&](double age, double) {
        return in_fresh(age) ? std::min(kR / 4, long_rate_with) : std::min(kR / 4, cap);
    });
    for (double start = 0.5; start + 1.0 <= 18; start += 2.0) {
        FlowSeries f = flow(kR, 1.0, [&](double, double) { return fresh_rate; });
        f.start_s = start;
        p.fresh.push_back(f);
    }
    return p;
}

}  // namespace

TEST(ProbeRateAnalysis, FlowsCappedFromTheFirstByteThatAddUpAreAPerFlowCap) {
    constexpr double kCap = 100'000;
    Parallel p = parallel(kCap, kCap, kCap);
    Analysis a = analyze(p.fast, p.slow, p.fresh);
    EXPECT_EQ(a.kind, ThrottleKind::per_flow);
    EXPECT_FALSE(a.fast);
    EXPECT_NEAR(a.long_rate, kCap, 1);
    EXPECT_NEAR(a.parallel_rate, 3 * kCap, 1);
    ASSERT_TRUE(a.paths);
    EXPECT_EQ(*a.paths, 10u);  // the probe's rate over the capped rate
    EXPECT_FALSE(a.hop_interval || a.hop_bytes);
}

TEST(ProbeRateAnalysis, ASharedBottleneckIsNoPerFlowCap) {
    // 300 kB/s in all: the long flows split it, and a fresh flow takes its
    // share from them.
    constexpr double kLink = 300'000;
    Parallel p = parallel(kLink / 2, kLink / 3, kLink / 3);
    Analysis a = analyze(p.fast, p.slow, p.fresh);
    EXPECT_EQ(a.kind, ThrottleKind::none);
    EXPECT_FALSE(a.paths);
}

TEST(ProbeRateAnalysis, AFlowAtItsFullRateIsNoPerFlowCap) {
    Parallel p = parallel(kR, kR, kR);
    Analysis a = analyze(p.fast, p.slow, p.fresh);
    EXPECT_EQ(a.kind, ThrottleKind::none);
    EXPECT_FALSE(a.paths);
}

TEST(ProbeRateAnalysis, APerFlowCapRecommendsAtMostTheMostPaths) {
    constexpr double kCap = 20'000;
    Parallel p = parallel(kCap, kCap, kCap);
    Analysis a = analyze(p.fast, p.slow, p.fresh);
    ASSERT_EQ(a.kind, ThrottleKind::per_flow);
    EXPECT_EQ(*a.paths, kMaxRecommendedPaths);
}
