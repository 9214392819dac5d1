#pragma once
// Caps how fast one source IP may open sessions (a token bucket per IP), so
// that a flood of new source ports from one host cannot fill the session
// table while the sessions already open carry on untouched. The buckets live
// in a fixed table indexed by a hash of the IP: a flood of spoofed sources
// costs no memory; two IPs on one slot evict each other's bucket, which only
// ever gives the newcomer a fresh burst (the table's --max-sessions bound
// still holds).

#include <array>
#include <cstdint>

#include "io/clock.hpp"
#include "net/address.hpp"

namespace porthop::relay {

class NewSessionLimiter {
public:
    // Defaults: a household NAT opening a few QUIC connections a second is
    // never refused; a host trying thousands a second is held to 20.
    static constexpr double kDefaultRate = 20.0;  // new sessions per second, per IP
    static constexpr double kDefaultBurst = 64.0;

    // rate 0: no limit.
    explicit NewSessionLimiter(double rate = kDefaultRate, double burst = kDefaultBurst)
        : rate_per_ms_(rate / 1000.0),
          burst_(burst) {}

    void set_rate(double rate) { rate_per_ms_ = rate / 1000.0; }

    bool allow(const net::Address& source, TimePoint now) {
        if (rate_per_ms_ == 0) return true;
        size_t h = source.ip_hash();
        Bucket& b = buckets_[h % buckets_.size()];
        if (!b.used || b.ip_hash != h) {
            b = Bucket{h, burst_, now, true};
        } else {
            double elapsed_ms = std::chrono::duration<double, std::milli>(now - b.last).count();
            b.tokens = std::min(burst_, b.tokens + elapsed_ms * rate_per_ms_);
            b.last = now;
        }
        if (b.tokens < 1.0) return false;
        b.tokens -= 1.0;
        return true;
    }

private:
    struct Bucket {
        size_t ip_hash = 0;
        double tokens = 0;
        TimePoint last{};
        bool used = false;
    };
    double rate_per_ms_;
    double burst_;
    std::array<Bucket, 4096> buckets_{};
};

}  // namespace porthop::relay
