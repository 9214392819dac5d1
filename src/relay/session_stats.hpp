#pragma once
// The per-session figures `porthop status` shows that no other part of the
// relay needs: hops by reason (updated once per hop) and the recent rate
// each way (sampled by the sweep from byte totals the datagram path keeps
// with one addition per batch). Nothing here runs per datagram.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "io/clock.hpp"
#include "metrics/metric_table.hpp"
#include "relay/session_report.hpp"

namespace porthop::relay {

class HopLog {
public:
    void record(metrics::HopReason reason, TimePoint now) {
        ++by_reason_[size_t(reason)];
        last_ = reason;
        last_at_ = now;
    }
    // The report's hop figures (the current port's stint is the schedule's).
    HopReport report(TimePoint now) const {
        HopReport r;
        r.by_reason = by_reason_;
        r.last = last_;
        if (last_) r.last_seconds_ago = std::chrono::duration<double>(now - last_at_).count();
        return r;
    }

private:
    std::array<uint64_t, size_t(metrics::HopReason::count_)> by_reason_{};
    std::optional<metrics::HopReason> last_;
    TimePoint last_at_;
};

// Bytes a second each way over the last interval of at least kMinInterval
// between two samples; a sweep more frequent than that (short idle timeouts)
// extends the interval rather than reporting a noisy rate.
class RateSampler {
public:
    static constexpr Duration kMinInterval{1'000};

    explicit RateSampler(TimePoint now) : at_(now) {}

    void sample(TimePoint now, uint64_t up, uint64_t down) {
        if (now - at_ < kMinInterval) return;
        double seconds = std::chrono::duration<double>(now - at_).count();
        rate_up_ = double(up - up_at_) / seconds;
        rate_down_ = double(down - down_at_) / seconds;
        up_at_ = up;
        down_at_ = down;
        at_ = now;
    }
    double up() const { return rate_up_; }
    double down() const { return rate_down_; }

private:
    TimePoint at_;
    uint64_t up_at_ = 0;
    uint64_t down_at_ = 0;
    double rate_up_ = 0;
    double rate_down_ = 0;
};

}  // namespace porthop::relay
