#pragma once
// The per-session hop schedule (docs/design.md, "Hop schedule"): hop after the interval ± jitter,
// or after hop_bytes on the current port, each brought forward by the
// margin FlowTail measured, so that an ISP flow's whole life, tail included,
// stays within them (never before kMinShare of either, whatever the margin);
// always to a port drawn at random from the set, never the current one and,
// when the set is large enough, none of the last recent_capacity() either:
// the ISP may still hold those flows (throttled by age or volume, or
// blocked) while their conntrack state lives, and going back to one adds to
// its age and bytes. Sessions draw their own deadlines, so they never hop in
// lock-step. The adaptive triggers (stall, slowdown) are
// relay/adaptive_hops.hpp's, on a timer; they hop through hop().

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "io/clock.hpp"
#include "metrics/metric_table.hpp"
#include "relay/flow_tail.hpp"
#include "relay/hop_memory.hpp"
#include "relay/rng.hpp"

namespace porthop::relay {

struct HopPolicy {
    Duration interval{10'000};
    Duration jitter{2'000};
    uint64_t bytes = 0;  // 0: no byte trigger
};

class HopSchedule {
public:
    // Ports avoided after a hop: a quarter of the set, at least kRecentPorts
    // (sets above 2 * kRecentPorts only) and at most kMaxRecentPorts, so a
    // session hopping every few milliseconds at full speed does not go back
    // to a flow the ISP still counts.
    static constexpr size_t kRecentPorts = 8;
    static constexpr size_t kMaxRecentPorts = 256;
    // The floor of the tail margins: a share of the interval and byte budget.
    static constexpr double kMinShare = 0.25;
    // Draws a hop may make to miss the recent and stalled ports.
    static constexpr int kRedraws = 32;

    // ports: the server port set (non-empty); outlives the schedule, as does
    // memory (the relay's stalled ports, avoided by every draw, and learned
    // thresholds, hopped ahead of; may be null).
    HopSchedule(const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now,
                HopMemory* memory = nullptr);

    uint16_t port() const { return ports_[index_]; }
    // The port the last hop left (the current one before any hop).
    uint16_t previous_port() const { return ports_[previous_]; }
    TimePoint next_hop_at() const { return due_at_; }
    uint64_t byte_trigger() const { return byte_trigger_; }
    size_t recent_capacity() const { return recent_capacity_; }
    const FlowTail& tail() const { return tail_; }
    uint64_t bytes_on_port() const { return bytes_; }
    TimePoint hopped_at() const { return hopped_at_; }

    // Called before sending `bytes` upstream: hops first when a trigger
    // fired, and says which one.
    std::optional<metrics::HopReason> before_send(TimePoint now, uint64_t bytes) {
        carried(now);
        std::optional<metrics::HopReason> reason;
        if (now >= due_at_) {
            reason = metrics::HopReason::interval;
        } else if (policy_.bytes != 0 && bytes_ >= byte_trigger_) {
            reason = metrics::HopReason::bytes;
        } else if (memory_ != nullptr && (now - hopped_at_ >= memory_->thresholds.age_limit() ||
                                          bytes_ >= memory_->thresholds.bytes_limit())) {
            reason = metrics::HopReason::learned;
        }
        if (reason) {
            hop(now);
            carried_ = true;  // this datagram goes to the new port
        }
        bytes_ += bytes;
        return reason;
    }

    // A datagram goes to the current port (a keepalive, a nudge, or the
    // application's through before_send). The ISP's flow, and so its
    // clock, starts with the first one after a hop: a port reached by a
    // stall hop while the application was silent (a QUIC client waiting out
    // its retransmission timer) gets its whole interval once it sends,
    // instead of being left before it carried anything.
    void carried(TimePoint now) {
        if (carried_) return;
        carried_ = true;
        if (now <= hopped_at_) return;
        next_at_ += now - hopped_at_;
        hopped_at_ = now;
        last_reply_ = now;
        refresh_triggers();
    }

    // Counts bytes received from the current port towards hop_bytes: an ISP
    // that throttles by volume counts both directions, and a download sends
    // little but ACKs upstream. Bytes from another port are the tail of a
    // flow left before (FlowTail).
    void received(uint16_t from_port, uint64_t bytes, TimePoint now) {
        if (bytes == 0) return;
        if (from_port == port()) {
            bytes_ += bytes;
            last_reply_ = now;
            carried_ = true;
            if (!answered_) {
                answered_ = true;
                if (tail_.successor_answered()) refresh_triggers();
                if (blamed_) blame(now);
            }
        } else if (tail_.arrived(from_port, bytes, now)) {
            refresh_triggers();
        }
    }

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

    // The (adaptive) hop just made left a flow that stalled or slowed down,
    // noticed `detection` after it began. Once the new port answers (the hop
    // helped: the old flow was the cause, not a finished or paused
    // application), the relay learns from it (HopMemory): a flow that never
    // answered marks its port as blocked; one that worked until then gives
    // the age (and, if `with_bytes`, the volume) at which the ISP acted.
    void blame_previous_flow(Clock::duration detection, bool with_bytes) {
        blamed_ = true;
        blame_detection_ = detection;
        blame_bytes_ = with_bytes;
    }

private:
    Duration draw_interval();
    size_t draw_other_port();
    bool recently_used(size_t index) const;
    bool avoided(size_t index, TimePoint now) const {
        return memory_ != nullptr && memory_->ports.avoided(ports_[index], now);
    }
    void blame(TimePoint now);
    void remember_left(size_t index);
    void refresh_triggers();

    HopPolicy policy_;
    std::span<const uint16_t> ports_;
    Rng& rng_;
    HopMemory* memory_;
    size_t index_ = 0;
    size_t previous_ = 0;
    // Indexes of the ports left by the last hops: a ring of recent_capacity_
    // (a port set has at most 65536 ports, so an index fits 16 bits).
    std::array<uint16_t, kMaxRecentPorts> recent_{};
    size_t recent_capacity_ = 0;
    size_t recent_count_ = 0;
    size_t recent_next_ = 0;
    TimePoint next_at_;  // the drawn deadline
    TimePoint due_at_;   // the deadline brought forward by the tail margin
    TimePoint hopped_at_;
    TimePoint last_reply_;  // the newest reply from the current port
    uint64_t bytes_ = 0;
    uint64_t byte_trigger_ = 0;  // hop_bytes less the tail margin
    bool answered_ = false;      // a reply came from the current port
    bool carried_ = true;        // a datagram went to (or came from) the current port since the hop
    bool blamed_ = false;        // blame_previous_flow() since the last hop
    bool blame_bytes_ = false;
    Clock::duration blame_detection_{};
    // The flow the last hop left: its age, bytes and whether it answered.
    Clock::duration left_age_{};
    uint64_t left_bytes_ = 0;
    bool left_answered_ = false;
    FlowTail tail_;
};

}  // namespace porthop::relay
