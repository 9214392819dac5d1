#include "relay/learned_thresholds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace porthop::relay {

// kRelax per kRelaxPeriod since the last trouble.
double LearnedThresholds::relaxation(TimePoint now) const {
    return std::pow(kRelax, seconds(now - last_trouble_) / seconds(kRelaxPeriod));
}

void LearnedThresholds::troubled(Clock::duration age, uint64_t bytes, TimePoint now) {
    double a = std::max(seconds(age), seconds(kMinAge));
    double b = bytes == kUnlimited ? std::numeric_limits<double>::infinity()
                                   : std::max(static_cast<double>(bytes), static_cast<double>(kMinBytes));
    if (learned_) {
        double relaxed = relaxation(now);
        a = std::min(age_ * relaxed, a);
        b = std::min(bytes_ * relaxed, b);
    }
    age_ = a;
    bytes_ = b;
    learned_ = true;
    last_trouble_ = now;
    refresh(now);
}

void LearnedThresholds::refresh(TimePoint now) {
    if (!learned_) return;
    double factor = relaxation(now) * kAhead;
    age_limit_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(age_ * factor));
    double b = bytes_ * factor;
    bytes_limit_ = std::isfinite(b) && b < 1e18 ? static_cast<uint64_t>(b) : kUnlimited;
}

}  // namespace porthop::relay
