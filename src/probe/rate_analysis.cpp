#include "probe/rate_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace porthop::probe {

const char* to_string(ThrottleKind kind) {
    switch (kind) {
        case ThrottleKind::none: return "none";
        case ThrottleKind::age: return "age";
        case ThrottleKind::volume: return "volume";
        case ThrottleKind::unclear: return "unclear";
        case ThrottleKind::per_flow: return "per_flow";
    }
    return "unknown";
}

namespace {

double rate_of(const Sample& s) { return s.dt_s > 0 ? s.down_bytes / s.dt_s : 0; }

// A fresh flow's rate, leaving out its first sample (the request is still
// on its way there).
double fresh_flow_rate(const FlowSeries& f) {
    size_t first = f.samples.size() > 1 ? 1 : 0;
    double bytes = 0, time = 0;
    for (size_t i = first; i < f.samples.size(); ++i) {
        bytes += f.samples[i].down_bytes;
        time += f.samples[i].dt_s;
    }
    return time > 0 ? bytes / time : 0;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t mid = v.size() / 2;
    return v.size() % 2 != 0 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

double expected_rate(const FlowSeries& f, double fresh_rate) {
    return fresh_rate > 0 ? std::min(f.requested_rate, fresh_rate) : f.requested_rate;
}

// Half the onset, rounded down to 100 ms, at least 100 ms.
std::chrono::milliseconds half_age(double age_s) {
    auto ms = static_cast<int64_t>(age_s * 1000 / 2);
    return std::chrono::milliseconds(std::max<int64_t>(100, ms / 100 * 100));
}

// Half the onset, rounded down to 10 kB, at least 10 kB.
uint64_t half_bytes(double bytes) {
    auto half = static_cast<uint64_t>(bytes / 2);
    return std::max<uint64_t>(10'000, half / 10'000 * 10'000);
}

// Rates of the long flows with a fresh flow beside them and without.
struct Parallel {
    double together_with = 0;     // fast + slow + fresh, bytes/s
    double together_without = 0;  // fast + slow
    double fast_with = 0;
    double fast_without = 0;
    bool measured = false;  // at least a second of each
};

Parallel parallel_rates(const FlowSeries& fast, const FlowSeries& slow, std::span<const FlowSeries> fresh) {
    double with_time = 0, without_time = 0, fast_with = 0, fast_without = 0, slow_with = 0, slow_without = 0,
           fresh_bytes = 0;
    for (size_t i = 0; i < fast.samples.size(); ++i) {
        const Sample& s = fast.samples[i];
        double end = fast.start_s + s.age_s;
        double slow_bytes = i < slow.samples.size() ? slow.samples[i].down_bytes : 0;
        // The fresh sample taken at the same tick (its first one left out:
        // the request is still on its way there).
        const Sample* beside = nullptr;
        for (const FlowSeries& f : fresh) {
            for (size_t k = 1; k < f.samples.size() && beside == nullptr; ++k) {
                if (std::abs(f.start_s + f.samples[k].age_s - end) < s.dt_s / 2) beside = &f.samples[k];
            }
        }
        if (beside != nullptr) {
            with_time += s.dt_s;
            fast_with += s.down_bytes;
            slow_with += slow_bytes;
            fresh_bytes += beside->down_bytes;
        } else {
            without_time += s.dt_s;
            fast_without += s.down_bytes;
            slow_without += slow_bytes;
        }
    }
    Parallel p;
    p.measured = with_time >= 1 && without_time >= 1;
    if (!p.measured) return p;
    p.together_with = (fast_with + slow_with + fresh_bytes) / with_time;
    p.together_without = (fast_without + slow_without) / without_time;
    p.fast_with = fast_with / with_time;
    p.fast_without = fast_without / without_time;
    return p;
}

}  // namespace

double mean_rate(const FlowSeries& series, double from_age_s, double to_age_s) {
    double bytes = 0, time = 0;
    for (const Sample& s : series.samples) {
        double start = s.age_s - s.dt_s;
        if (start + 1e-9 < from_age_s || s.age_s > to_age_s + 1e-9) continue;
        bytes += s.down_bytes;
        time += s.dt_s;
    }
    return time > 0 ? bytes / time : 0;
}

std::optional<Onset> find_onset(const FlowSeries& series, double expected_rate) {
    const auto& s = series.samples;
    const double threshold = kThrottledShare * expected_rate;
    // below_from[i]: throttled samples in [i, end)
    std::vector<size_t> below_from(s.size() + 1, 0);
    for (size_t i = s.size(); i-- > 0;) below_from[i] = below_from[i + 1] + (rate_of(s[i]) < threshold ? 1 : 0);
    for (size_t i = 0; i < s.size(); ++i) {
        if (rate_of(s[i]) >= threshold) continue;
        size_t rest = s.size() - i;
        if (below_from[i] < kMinThrottledSamples) return std::nullopt;  // fewer and fewer from here on
        if (static_cast<double>(below_from[i]) >= kSustainedShare * static_cast<double>(rest)) {
            return Onset{s[i].age_s - s[i].dt_s, i == 0 ? 0.0 : s[i - 1].flow_bytes};
        }
    }
    return std::nullopt;
}

Analysis analyze(const FlowSeries& fast, const FlowSeries& slow, std::span<const FlowSeries> fresh) {
    Analysis a;
    std::vector<double> fresh_rates;
    for (const FlowSeries& f : fresh) {
        if (!f.samples.empty()) fresh_rates.push_back(fresh_flow_rate(f));
    }
    a.fresh_rate = median(fresh_rates);
    a.fast = find_onset(fast, expected_rate(fast, a.fresh_rate));
    a.slow = find_onset(slow, expected_rate(slow, a.fresh_rate));
    constexpr double kForever = std::numeric_limits<double>::max();
    if (!a.fast) {
        a.long_rate = mean_rate(fast, 0, kForever);
        Parallel p = parallel_rates(fast, slow, fresh);
        bool capped = a.long_rate > 0 && a.long_rate < kThrottledShare * fast.requested_rate;
        if (capped && p.measured && p.together_with >= kParallelGain * p.together_without &&
            p.fast_with >= kKeptShare * p.fast_without) {
            a.kind = ThrottleKind::per_flow;
            a.parallel_rate = p.together_with;
            double needed = std::ceil(fast.requested_rate / a.long_rate);
            a.paths = static_cast<uint32_t>(std::clamp(needed, 2.0, double(kMaxRecommendedPaths)));
        }
        return a;  // no onset: no hop recommendation
    }
    a.long_rate = mean_rate(fast, 0, a.fast->age_s);
    a.throttled_rate = mean_rate(fast, a.fast->age_s, kForever);

    if (a.slow && a.fast->age_s > 0 && a.fast->bytes > 0 && a.slow->bytes > 0) {
        // Whichever of age and bytes the two onsets agree on better.
        double age_ratio = std::abs(std::log(std::max(a.slow->age_s, 1e-3) / a.fast->age_s));
        double bytes_ratio = std::abs(std::log(a.slow->bytes / a.fast->bytes));
        a.kind = age_ratio <= bytes_ratio ? ThrottleKind::age : ThrottleKind::volume;
    } else {
        // The slower flow was not throttled: by age it would have been once
        // as old as the fast one was at its onset (with some margin) --
        // unless the throttled rate is no real drop for it.
        double slow_age = slow.samples.empty() ? 0 : slow.samples.back().age_s;
        bool could_see = a.throttled_rate < kThrottledShare * expected_rate(slow, a.fresh_rate);
        a.kind = could_see && slow_age >= 1.5 * a.fast->age_s + 1.0 ? ThrottleKind::volume : ThrottleKind::unclear;
    }
    if (a.kind == ThrottleKind::age || a.kind == ThrottleKind::unclear) a.hop_interval = half_age(a.fast->age_s);
    if (a.kind == ThrottleKind::volume || a.kind == ThrottleKind::unclear) a.hop_bytes = half_bytes(a.fast->bytes);
    return a;
}

}  // namespace porthop::probe
