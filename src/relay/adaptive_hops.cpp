#include "relay/adaptive_hops.hpp"

#include <algorithm>
#include <cmath>

namespace porthop::relay {

namespace {
double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

Duration AdaptiveHops::stall_wait(Duration stall) const {
    Duration wait = stall;
    for (unsigned i = 0; i < stall_doublings_ && wait < kMaxStallWait; ++i) wait *= 2;
    // Doubling stops at kMaxStallWait, but never waits less than asked.
    return std::max(stall, std::min(wait, kMaxStallWait));
}

std::optional<metrics::HopReason> AdaptiveHops::tick(const AdaptivePolicy& policy, TimePoint now) {
    record_interval(now);
    if (stall_unanswered_ && down_ != down_at_stall_hop_) {
        // The new port answered: the stall was the old port's.
        stall_unanswered_ = false;
        stall_doublings_ = 0;
    }
    if (evaluating_) evaluate_slowdown_hop(now);
    if (!guard_open(now)) return std::nullopt;

    if (policy.stall.count() != 0 && waiting_ && now - waiting_since_ >= stall_wait(policy.stall)) {
        if (stall_unanswered_ && stall_wait(policy.stall) < kMaxStallWait) ++stall_doublings_;
        stall_unanswered_ = true;
        down_at_stall_hop_ = down_;
        waiting_since_ = now;  // the new port gets the whole wait to answer
        adapted_ = true;
        last_adaptive_ = now;
        return metrics::HopReason::stall;
    }
    if (policy.slowdown && !evaluating_ && (!slowed_before_ || now - last_slowdown_ >= slowdown_guard_) &&
        slowed_down()) {
        evaluating_ = true;
        evaluate_until_ = now + kEvaluation;
        slow_rate_ = window_rate_;
        slowed_before_ = true;
        last_slowdown_ = now;
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
    double span = 0;
    uint64_t bytes = 0;
    window_intervals_ = 0;
    for (size_t i = 0; i < filled_ && span + 1e-3 < seconds(kWindow); ++i) {
        const Interval& iv = intervals_[(next_ + kIntervals - 1 - i) % kIntervals];
        span += iv.seconds;
        bytes += iv.down;
        ++window_intervals_;
    }
    window_full_ = span + 1e-3 >= seconds(kWindow);
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

void AdaptiveHops::evaluate_slowdown_hop(TimePoint now) {
    if (window_rate_ >= std::max(kHelpedRatio * slow_rate_, kPeakFloor)) {
        evaluating_ = false;
        slowdown_guard_ = kMinGap;
    } else if (now >= evaluate_until_) {
        evaluating_ = false;
        slowdown_guard_ = slowdown_guard_ < kBackoffFirst ? kBackoffFirst : std::min(2 * slowdown_guard_, kBackoffMax);
    }
}

}  // namespace porthop::relay
