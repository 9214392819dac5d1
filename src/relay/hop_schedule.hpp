#pragma once
// The per-session hop schedule (docs/design.md, "Hop schedule"): hop after the interval ± jitter,
// or after hop_bytes on the current port; always to a port drawn at random
// from the set, never the current one and, when the set is large enough, not
// one of the last kRecentPorts either: the ISP may still hold those flows
// (throttled by age or volume, or blocked) while their conntrack state lives. Sessions draw their own deadlines, so
// they never hop in lock-step. The adaptive triggers (stall, slowdown) are
// relay/adaptive_hops.hpp's, on a timer; they hop through hop().

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "io/clock.hpp"
#include "metrics/metric_table.hpp"
#include "relay/rng.hpp"

namespace porthop::relay {

struct HopPolicy {
    Duration interval{10'000};
    Duration jitter{2'000};
    uint64_t bytes = 0;  // 0: no byte trigger
};

class HopSchedule {
public:
    static constexpr size_t kRecentPorts = 8;

    // ports: the server port set (non-empty); outlives the schedule.
    HopSchedule(const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now);

    uint16_t port() const { return ports_[index_]; }
    TimePoint next_hop_at() const { return next_at_; }
    uint64_t bytes_on_port() const { return bytes_; }
    TimePoint hopped_at() const { return hopped_at_; }

    // Called before sending `bytes` upstream: hops first when a trigger
    // fired, and says which one.
    std::optional<metrics::HopReason> before_send(TimePoint now, uint64_t bytes) {
        std::optional<metrics::HopReason> reason;
        if (now >= next_at_) {
            reason = metrics::HopReason::interval;
        } else if (policy_.bytes != 0 && bytes_ >= policy_.bytes) {
            reason = metrics::HopReason::bytes;
        }
        if (reason) hop(now);
        bytes_ += bytes;
        return reason;
    }

    // Counts bytes received from the current port towards hop_bytes: an ISP
    // that throttles by volume counts both directions, and a download sends
    // little but ACKs upstream.
    void received(uint64_t bytes) { bytes_ += bytes; }

    // A new policy (SIGHUP): the next hop comes no later than the new
    // interval allows from the last one.
    void set_policy(const HopPolicy& policy, TimePoint now);

    // Moves to another port now (also used by the adaptive triggers).
    void hop(TimePoint now);
    // Back on `port` (a restart with --state-file), if it is in the set.
    void resume_on(uint16_t port) {
        for (size_t i = 0; i < ports_.size(); ++i) {
            if (ports_[i] == port) index_ = i;
        }
    }

private:
    Duration draw_interval();
    size_t draw_other_port();
    bool recently_used(size_t index) const;

    HopPolicy policy_;
    std::span<const uint16_t> ports_;
    Rng& rng_;
    size_t index_ = 0;
    // Indexes of the ports left by the last hops (a ring; `none` when unused).
    static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
    std::array<uint32_t, kRecentPorts> recent_;
    size_t recent_next_ = 0;
    TimePoint next_at_;
    TimePoint hopped_at_;
    uint64_t bytes_ = 0;
};

}  // namespace porthop::relay
