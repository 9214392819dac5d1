#include "relay/adaptive_hops.hpp"

#include <algorithm>
#include <cmath>

namespace porthop::relay {

void AdaptiveHops::Guard::hopped(TimePoint now, Duration judge_for) {
    used = true;
    last = now;
    judging = true;
    judge_until = now + judge_for;
}

void AdaptiveHops::Guard::judged(bool helped) {
    judging = false;
    if (helped) {
        guard = kMinGap;
    } else {
        guard = guard < kBackoffFirst ? kBackoffFirst : std::min(2 * guard, kBackoffMax);
    }
}

std::optional<metrics::HopReason> AdaptiveHops::tick(const AdaptivePolicy& policy, TimePoint now) {
    record_interval(now);
    if (stall_.judging) {
        if (replies_ != replies_at_stall_hop_) {
            stall_.judged(true);
        } else if (now >= stall_.judge_until) {
            stall_.judged(false);
        }
    }
    if (slowdown_.judging) {
        if (window_rate_ >= std::max(kHelpedRatio * slow_rate_, kPeakFloor)) {
            slowdown_.judged(true);
        } else if (now >= slowdown_.judge_until) {
            slowdown_.judged(false);
        }
    }
    if (!gap_open(now)) return std::nullopt;

    if (policy.stall.count() != 0 && waiting_ && now - waiting_since_ >= policy.stall && stall_.open(now)) {
        waiting_ = false;  // only a new send starts a new wait
        replies_at_stall_hop_ = replies_;
        stall_.hopped(now, std::max(kStallAnswer, policy.stall));
        adapted_ = true;
        last_adaptive_ = now;
        return metrics::HopReason::stall;
    }
    if (policy.slowdown && slowdown_.open(now) && slowed_down()) {
        slow_rate_ = window_rate_;
        slowdown_.hopped(now, kEvaluation);
        adapted_ = true;
        last_adaptive_ = now;
        return metrics::HopReason::slowdown;
    }
    return std::nullopt;
}

void AdaptiveHops::record_interval(TimePoint now) {
    double dt = seconds(now - last_tick_);
    if (dt <= 0) return;
    intervals_[next_] = Interval{dt, down_ - down_at_tick_, up_ - up_at_tick_};
    next_ = (next_ + 1) % kIntervals;
    filled_ = std::min(filled_ + 1, kIntervals);
    last_tick_ = now;
    down_at_tick_ = down_;
    up_at_tick_ = up_;

    // The window: the newest intervals that together cover kWindow.
    double window = seconds(kWindow);
    double span = 0;
    uint64_t bytes = 0;
    window_intervals_ = 0;
    for (size_t i = 0; i < filled_ && span + 1e-3 < window; ++i) {
        const Interval& iv = intervals_[(next_ + kIntervals - 1 - i) % kIntervals];
        span += iv.seconds;
        bytes += iv.down;
        ++window_intervals_;
    }
    window_full_ = span + 1e-3 >= window;
    window_rate_ = static_cast<double>(bytes) / span;

    // An old burst fades: the peak halves every kPeakHalfLife.
    peak_ *= std::exp2(-dt / seconds(kPeakHalfLife));
    if (window_full_) peak_ = std::max(peak_, window_rate_);
}

// Every interval of the window far below the peak, and the flow still alive
// in both directions in the newest one: throttled, not paused or finished.
bool AdaptiveHops::slowed_down() const {
    if (!window_full_ || peak_ < kPeakFloor) return false;
    double limit = peak_ / kSlowdownRatio;
    for (size_t i = 0; i < window_intervals_; ++i) {
        const Interval& iv = intervals_[(next_ + kIntervals - 1 - i) % kIntervals];
        if (static_cast<double>(iv.down) / iv.seconds >= limit) return false;
    }
    const Interval& newest = intervals_[(next_ + kIntervals - 1) % kIntervals];
    return newest.down != 0 && newest.up != 0;
}

}  // namespace porthop::relay
