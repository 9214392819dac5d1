#pragma once
// The probe's verdict from rate series (docs/protocol.md, "Probe"): is a long
// flow throttled, from what age and volume on, by which of the two, and what
// hop schedule avoids it. Pure functions of the measured series, so that
// synthetic series test them.
//
// Age or volume: the probe runs two long flows, one at rate R and one at R/4.
// A throttle by age hits both at the same age; one by volume hits the slower
// one at the same byte count, i.e. about 4x later.
//
// Per flow: an ISP that caps every flow from its first byte shows no onset;
// the long flow never gets near its rate, and a fresh flow beside it adds
// its own capped rate to what the flows carry together instead of taking
// from the long ones (a shared bottleneck would split one rate among them).
// The cure is several flows at once: --paths.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace porthop::probe {

struct Sample {
    double age_s = 0;       // the flow's age at the end of the interval
    double dt_s = 0;        // the interval's length
    double down_bytes = 0;  // bytes received from the server in the interval
    double flow_bytes = 0;  // bytes on the flow so far, both directions (what an ISP counts)
};

struct FlowSeries {
    double requested_rate = 0;  // bytes/s asked of the server
    double start_s = 0;         // when its first sample interval began, since the probe's start
    std::vector<Sample> samples;
};

struct Onset {
    double age_s = 0;
    double bytes = 0;
};

enum class ThrottleKind { none, age, volume, unclear, per_flow };
const char* to_string(ThrottleKind kind);

struct Analysis {
    ThrottleKind kind = ThrottleKind::none;
    std::optional<Onset> fast;  // onset on the flow at R
    std::optional<Onset> slow;  // onset on the flow at R/4
    double fresh_rate = 0;      // bytes/s, median over the fresh flows
    double long_rate = 0;       // bytes/s of the fast long flow before its onset (all of it when none)
    double throttled_rate = 0;  // bytes/s of the fast long flow after its onset (0 when none)
    std::optional<std::chrono::milliseconds> hop_interval;  // recommended, for an age throttle
    std::optional<uint64_t> hop_bytes;                      // recommended, for a volume throttle
    // per_flow: what the flows carried together while a fresh flow ran
    // beside the long ones (bytes/s), and the --paths that carry the
    // probe's rate at the long flow's capped rate.
    double parallel_rate = 0;
    std::optional<uint32_t> paths;
};

// A sample counts as throttled below this share of the rate the flow
// should get.
inline constexpr double kThrottledShare = 0.5;
// The onset is the first throttled sample from which on at least this share
// of the samples stays throttled (noise tolerance) ...
inline constexpr double kSustainedShare = 0.8;
// ... and at least this many samples are throttled.
inline constexpr size_t kMinThrottledSamples = 4;

// The onset of a sustained drop below kThrottledShare x expected_rate, or
// nullopt.
std::optional<Onset> find_onset(const FlowSeries& series, double expected_rate);

// A fresh flow counts as adding to the others when the flows together carry
// at least this many times what the long ones carry without it, ...
inline constexpr double kParallelGain = 1.3;
// ... while the fast long flow keeps at least this share of its rate.
inline constexpr double kKeptShare = 0.7;
// Most paths recommended (the --paths bound).
inline constexpr uint32_t kMaxRecommendedPaths = 16;

// Mean rate (bytes/s) of the samples in [from, to) by age.
double mean_rate(const FlowSeries& series, double from_age_s, double to_age_s);

Analysis analyze(const FlowSeries& fast, const FlowSeries& slow, std::span<const FlowSeries> fresh);

}  // namespace porthop::probe
