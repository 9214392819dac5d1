#include "relay/hop_schedule.hpp"

#include <algorithm>

namespace porthop::relay {

namespace {
size_t recent_capacity_for(size_t ports) {
    if (ports <= 2 * HopSchedule::kRecentPorts) return 0;  // a tiny set just takes the draw
    return std::clamp(ports / 4, HopSchedule::kRecentPorts, HopSchedule::kMaxRecentPorts);
}
}  // namespace

HopSchedule::HopSchedule(const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now,
                         HopMemory* memory)
    : policy_(policy),
      ports_(ports),
      rng_(rng),
      memory_(memory),
      recent_capacity_(recent_capacity_for(ports.size())),
      hopped_at_(now),
      last_reply_(now) {
    index_ = rng_.below(ports_.size());
    for (int i = 0; i < kRedraws && avoided(index_, now); ++i) index_ = rng_.below(ports_.size());
    previous_ = index_;
    next_at_ = now + draw_interval();
    refresh_triggers();
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
    refresh_triggers();
}

// The margins FlowTail measured, never below kMinShare of the deadline's
// interval or of hop_bytes.
void HopSchedule::refresh_triggers() {
    auto drawn = next_at_ - hopped_at_;
    auto floor = std::chrono::duration_cast<Clock::duration>(drawn * kMinShare);
    due_at_ = hopped_at_ + std::max(floor, drawn - std::min(drawn, tail_.time_margin()));
    auto budget_floor = static_cast<uint64_t>(static_cast<double>(policy_.bytes) * kMinShare);
    uint64_t margin = tail_.byte_margin();
    byte_trigger_ = std::max(budget_floor, policy_.bytes > margin ? policy_.bytes - margin : 0);
}

// Uniform among the other n-1 ports: skip over the current one.
size_t HopSchedule::draw_other_port() {
    size_t next = rng_.below(ports_.size() - 1);
    return next >= index_ ? next + 1 : next;
}

bool HopSchedule::recently_used(size_t index) const {
    for (size_t i = 0; i < recent_count_; ++i) {
        if (recent_[i] == index) return true;
    }
    return false;
}

void HopSchedule::remember_left(size_t index) {
    if (recent_capacity_ == 0) return;
    recent_[recent_next_] = static_cast<uint16_t>(index);
    recent_next_ = (recent_next_ + 1) % recent_capacity_;
    recent_count_ = std::min(recent_count_ + 1, recent_capacity_);
}

void HopSchedule::hop(TimePoint now) {
    // How far past its triggers the flow left now ran (its tail comes later).
    // A hop comes at the first send after the deadline, so the flow carried
    // nothing up after it; it ran late only as long as replies still came
    // down on it. A flow that fell silent (a blocked port, a paused
    // application) ran no later than its deadline, however late that send.
    uint64_t bytes_past = policy_.bytes != 0 && bytes_ > byte_trigger_ ? bytes_ - byte_trigger_ : 0;
    Clock::duration late = last_reply_ > due_at_ ? last_reply_ - due_at_ : Clock::duration::zero();
    tail_.left(port(), now, bytes_past, late);
    left_age_ = now - hopped_at_;
    left_bytes_ = bytes_;
    left_answered_ = answered_;
    if (ports_.size() > 1) {
        size_t next = draw_other_port();
        // A few redraws skip the recent ports (at most half of the set) and
        // the stalled ones: kRedraws hits in a row are rare, and then the
        // draw stands (a set the ISP blocks almost whole still hops).
        for (int i = 0; i < kRedraws && (recently_used(next) || avoided(next, now)); ++i) next = draw_other_port();
        remember_left(index_);
        previous_ = index_;
        index_ = next;
    }
    bytes_ = 0;
    answered_ = false;
    carried_ = false;
    blamed_ = false;
    hopped_at_ = now;
    last_reply_ = now;
    next_at_ = now + draw_interval();
    refresh_triggers();
}

}  // namespace porthop::relay

namespace porthop::relay {

void HopSchedule::blame(TimePoint now) {
    blamed_ = false;
    if (memory_ == nullptr) return;
    if (!left_answered_) {
        // A flow younger than the detection time had no fair chance to
        // answer (a scheduled hop just before the stall hop): not its port's
        // fault.
        if (left_age_ >= blame_detection_) memory_->ports.stalled(previous_port(), now);
        return;
    }
    auto age = left_age_ > blame_detection_ ? left_age_ - blame_detection_ : Clock::duration::zero();
    memory_->thresholds.troubled(age, blame_bytes_ ? left_bytes_ : LearnedThresholds::kUnlimited, now);
}

}  // namespace porthop::relay
