#include "relay/hop_schedule.hpp"

#include <algorithm>

namespace porthop::relay {

HopSchedule::HopSchedule(const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now)
    : policy_(policy),
      ports_(ports),
      rng_(rng),
      hopped_at_(now) {
    recent_.fill(kNone);
    index_ = rng_.below(ports_.size());
    next_at_ = now + draw_interval();
}

Duration HopSchedule::draw_interval() {
    auto jitter = policy_.jitter.count();
    if (jitter <= 0) return policy_.interval;
    // Uniform in [interval - jitter, interval + jitter].
    auto offset = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(2 * jitter + 1))) - jitter;
    return Duration(policy_.interval.count() + offset);
}

void HopSchedule::set_policy(const HopPolicy& policy, TimePoint now) {
    policy_ = policy;
    TimePoint sooner = std::max(now, hopped_at_ + draw_interval());
    if (sooner < next_at_) next_at_ = sooner;
}

// Uniform among the other n-1 ports: skip over the current one.
size_t HopSchedule::draw_other_port() {
    size_t next = rng_.below(ports_.size() - 1);
    return next >= index_ ? next + 1 : next;
}

bool HopSchedule::recently_used(size_t index) const {
    for (uint32_t r : recent_) {
        if (r == index) return true;
    }
    return false;
}

void HopSchedule::hop(TimePoint now) {
    if (ports_.size() > 1) {
        size_t next = draw_other_port();
        // A few redraws skip the recent ports (a set of 4x their number or
        // more makes a hit rare); a tiny set just takes the draw.
        if (ports_.size() > 2 * kRecentPorts) {
            for (int i = 0; i < 16 && recently_used(next); ++i) next = draw_other_port();
        }
        recent_[recent_next_] = static_cast<uint32_t>(index_);
        recent_next_ = (recent_next_ + 1) % kRecentPorts;
        index_ = next;
    }
    bytes_ = 0;
    hopped_at_ = now;
    next_at_ = now + draw_interval();
}

}  // namespace porthop::relay
