#pragma once
// The adaptive hop triggers (docs/design.md, "Adaptive hops") for one session,
// as pure logic: the relay counts the session's bytes on the hot path (two
// additions and a flag per batch) and calls tick() from a timer, never per
// packet. tick() says when the session should hop and why.
//
// stall: the session sent upstream and nothing came back from the port it
//   sends to for the stall time (a blackholed port; an old flow's tail does
//   not count: received_tail). A keepalive counts as a send (session
//   mode: the server relay answers it). An idle session sends nothing, so it
//   never stalls; after a stall hop only a new send starts a new wait, so a
//   session that goes quiet hops at most once.
// slowdown: the downstream rate fell below 1/kSlowdownRatio of the best rate
//   this session reached (its peak, decaying with kPeakHalfLife, at least
//   kPeakFloor) over every tick of the last kWindow, while data still trickles
//   down and the application still sends upstream (a throttled flow). A pause
//   (nothing comes down) is not a slowdown.
// Guard against hop storms: at most one adaptive hop per kMinGap. Each
// adaptive hop is then judged: a stall hop helped if anything (even an
// answered keepalive) came back within max(kStallAnswer, the stall time); a
// slowdown hop helped if the rate climbed to kHelpedRatio times the throttled
// rate (and kPeakFloor) within kEvaluation. A hop that did not help means the
// cause was not the port (the application paused or slowed down, or the
// server relay is down): no hop for the same reason for kBackoffFirst,
// doubling up to kBackoffMax while hops keep not helping; a hop that helped
// resets that reason's guard to kMinGap.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "io/clock.hpp"
#include "metrics/metric_table.hpp"

namespace porthop::relay {

struct AdaptivePolicy {
    Duration stall{0};  // 0: off
    bool slowdown = false;
    bool enabled() const { return stall.count() != 0 || slowdown; }
};

// How often the relays call tick(): fine enough to notice a throttle within
// a few hundred milliseconds, coarse enough that a walk over 10k sessions is
// negligible.
inline constexpr Duration kAdaptiveTick{100};

class AdaptiveHops {
public:
    static constexpr Duration kMinGap{1'000};
    static constexpr Duration kStallAnswer{1'000};
    static constexpr Duration kWindow{300};
    static constexpr double kSlowdownRatio = 8;
    static constexpr double kPeakFloor = 250'000;  // bytes/s (2 Mbit/s): slow streams never trigger
    static constexpr Duration kPeakHalfLife{10'000};
    static constexpr Duration kEvaluation{2'000};
    static constexpr double kHelpedRatio = 4;
    static constexpr Duration kBackoffFirst{30'000};
    static constexpr Duration kBackoffMax{240'000};

    explicit AdaptiveHops(TimePoint now) : last_tick_(now) {}

    // Hot path, once per batch: bytes sent upstream / received downstream.
    void sent(TimePoint now, uint64_t bytes) {
        if (!waiting_) {
            waiting_ = true;
            waiting_since_ = now;
        }
        up_ += bytes;
    }
    // Any reply counts, even an empty one (an answered keepalive): the
    // path works.
    void received(uint64_t bytes) {
        waiting_ = false;
        down_ += bytes;
        ++replies_;
    }
    // Replies from a port the session left (a flow's tail): data, but no
    // answer from where the session sends now.
    void received_tail(uint64_t bytes) { down_ += bytes; }

    // The hop schedule moved the session (interval, bytes, learned) while a
    // stall hop was being judged. If nothing answered yet, the port that hop
    // reached was left before it could: no verdict (neither a reset nor the
    // backoff that would switch stall hops off for kBackoffFirst).
    void scheduled_hop() {
        if (!stall_.judging) return;
        if (replies_ != replies_at_stall_hop_) {
            stall_.judged(true);
        } else {
            stall_.judging = false;
        }
    }

    // The timer: the reason to hop now, if any. The caller hops (any port
    // but the current one) and counts the hop.
    std::optional<metrics::HopReason> tick(const AdaptivePolicy& policy, TimePoint now);

    // Payload bytes sent upstream and received since the session opened.
    uint64_t sent_bytes() const { return up_; }
    uint64_t received_bytes() const { return down_; }

    // For tests and logs.
    double peak() const { return peak_; }
    double rate() const { return window_rate_; }
    Duration stall_guard() const { return stall_.guard; }
    Duration slowdown_guard() const { return slowdown_.guard; }

private:
    struct Interval {
        double seconds = 0;
        uint64_t down = 0;
        uint64_t up = 0;
    };
    // One reason's guard: the last hop for it, whether it is still being
    // judged, and the time the next one must wait.
    struct Guard {
        Duration guard = kMinGap;
        bool used = false;
        TimePoint last;
        bool judging = false;
        TimePoint judge_until;
        bool open(TimePoint now) const { return !judging && (!used || now - last >= guard); }
        void hopped(TimePoint now, Duration judge_for);
        void judged(bool helped);
    };

    void record_interval(TimePoint now);
    bool slowed_down() const;
    bool gap_open(TimePoint now) const { return !adapted_ || now - last_adaptive_ >= kMinGap; }

    // Counted on the hot path.
    uint64_t up_ = 0;
    uint64_t down_ = 0;
    bool waiting_ = false;     // sent something that nothing answered yet
    TimePoint waiting_since_;  // the first such send

    // The timer's view: the last few tick intervals, newest at `next_ - 1`.
    static constexpr size_t kIntervals = 8;
    std::array<Interval, kIntervals> intervals_{};
    size_t next_ = 0;
    size_t filled_ = 0;
    TimePoint last_tick_;
    uint64_t up_at_tick_ = 0;
    uint64_t down_at_tick_ = 0;
    size_t window_intervals_ = 0;  // how many of them make the window
    bool window_full_ = false;
    double window_rate_ = 0;  // bytes/s down over the window
    double peak_ = 0;

    bool adapted_ = false;
    TimePoint last_adaptive_;
    Guard stall_;
    uint64_t replies_ = 0;
    uint64_t replies_at_stall_hop_ = 0;
    Guard slowdown_;
    double slow_rate_ = 0;  // the window rate that made the last slowdown hop
};

}  // namespace porthop::relay
