#include "relay/hop_schedule.hpp"

#include <algorithm>

namespace porthop::relay {

HopSchedule::HopSchedule(const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now)
    : policy_(policy), ports_(ports), rng_(rng), hopped_at_(now) {
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

void HopSchedule::hop(TimePoint now) {
    if (ports_.size() > 1) {
        // Draw among the other n-1 ports: skip over the current one.
        size_t next = rng_.below(ports_.size() - 1);
        if (next >= index_) ++next;
        index_ = next;
    }
    bytes_ = 0;
    hopped_at_ = now;
    next_at_ = now + draw_interval();
}

}  // namespace porthop::relay
