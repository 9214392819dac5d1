#pragma once
// The probe's verdict from rate series (docs/protocol.md, "Probe"): is a long
// flow throttled, from what age and volume on, by which of the two, and what
// hop schedule avoids it. Pure functions of the measured series, so that
// synthetic series test them.
//
// Age or volume: the probe runs two long flows, one at rate R and one at R/4.
// A throttle by age hits both at the same age; one by volume hits the slower
// one at the same byte count, i.e. about 4x later.

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
    std::vector<Sample> samples;
};

struct Onset {
    double age_s = 0;
    double bytes = 0;
};

enum class ThrottleKind { none, age, volume, unclear };
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

// Mean rate (bytes/s) of the samples in [from, to) by age.
double mean_rate(const FlowSeries& series, double from_age_s, double to_age_s);

Analysis analyze(const FlowSeries& fast, const FlowSeries& slow, std::span<const FlowSeries> fresh);

}  // namespace porthop::probe
