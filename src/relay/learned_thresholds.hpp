#pragma once
// The ISP's thresholds as the client relay learns them online (docs/design.md,
// "Adaptive hops", "Learned thresholds"): shared by every session of the
// relay (one server relay), as pure logic. Each adaptive hop that helped
// reports the age and bytes the flow it left had reached when its trouble
// began (a slowdown or a stall); the lowest of them is the learned
// threshold. Sessions then hop at kAhead of it (the hop schedule's `learned`
// trigger) instead of after the ISP throttled them; the adaptive triggers
// stay on, so a learned value that stops working (the ISP tightened) is
// lowered by the next trouble. Forgotten slowly: without new trouble the
// limits grow by kRelax every kRelaxPeriod, so the relay follows an ISP that
// loosens its rules at the price of one throttled flow now and then.
//
// The limits are refreshed on the relay's adaptive timer, so the hot path
// compares two cached numbers.

#include <cstdint>
#include <limits>

#include "io/clock.hpp"

namespace porthop::relay {

class LearnedThresholds {
public:
    static constexpr double kAhead = 0.7;
    static constexpr double kRelax = 1.25;
    static constexpr Duration kRelaxPeriod{60'000};
    // Floors of the learned values: a report below them is taken as them
    // (a throttle that early is no flow's to outrun).
    static constexpr Duration kMinAge{200};
    static constexpr uint64_t kMinBytes = 256'000;

    static constexpr Clock::duration kNever = Clock::duration::max();
    static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

    // A flow ran into trouble at `age` and `bytes` (kUnlimited: its volume
    // says nothing, as for a stall: the ISP blocks by age), reported at `now`.
    void troubled(Clock::duration age, uint64_t bytes, TimePoint now);

    // Recomputes the limits for `now` (the relay's adaptive timer).
    void refresh(TimePoint now);

    // Hop a flow at this age or volume (kNever / kUnlimited: nothing learned).
    Clock::duration age_limit() const { return age_limit_; }
    uint64_t bytes_limit() const { return bytes_limit_; }
    bool learned() const { return learned_; }

private:
    double relaxation(TimePoint now) const;

    bool learned_ = false;
    TimePoint last_trouble_;
    double age_ = 0;                                          // seconds: the lowest trouble age, relaxed since
    double bytes_ = std::numeric_limits<double>::infinity();  // the lowest trouble volume
    Clock::duration age_limit_ = kNever;
    uint64_t bytes_limit_ = kUnlimited;
};

}  // namespace porthop::relay
