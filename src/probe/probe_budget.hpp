#pragma once
// What the server relay may send to one probe (docs/protocol.md, "Probe"):
// a token bucket at the rate the client asked for, never past the total it
// asked for, only while its requests keep coming, and never beyond the
// server's hard caps whatever was asked. Pure: time is passed in.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "io/clock.hpp"
#include "probe/probe_wire.hpp"

namespace porthop::probe {

struct ProbeCaps {
    uint32_t max_rate = 12'500'000;            // bytes/s per probe (100 Mbit/s)
    uint64_t max_total = uint64_t{256} << 20;  // bytes per probe id over its life
    size_t max_probes = 8;                     // probes served at once
    std::chrono::milliseconds liveness{2000};  // sending stops this long after the last request
    std::chrono::milliseconds burst{20};       // at most this much of the rate at once
};

class ProbeBudget {
public:
    // An authenticated, fresh request. `max_size`: the largest datagram
    // the path takes (MTU rule); sizes count whole framed datagrams.
    void ask(const Request& r, size_t max_size, TimePoint now, const ProbeCaps& caps) {
        rate_ = std::min(r.rate, caps.max_rate);
        total_ = std::min(r.total, caps.max_total);
        size_ = std::clamp<size_t>(r.size, kMinSize, std::max(kMinSize, max_size));
        burst_ =
            std::max<double>(static_cast<double>(size_), rate_ * std::chrono::duration<double>(caps.burst).count());
        if (!started_) refilled_ = now;
        started_ = true;
        last_request_ = now;
        liveness_ = caps.liveness;
    }

    // Whole datagrams of size() that may leave now (refills the bucket).
    size_t datagrams(TimePoint now) {
        if (!live(now)) {
            tokens_ = 0;
            refilled_ = now;
            return 0;
        }
        tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - refilled_).count());
        refilled_ = now;
        uint64_t left = total_ > sent_ ? total_ - sent_ : 0;
        auto by_tokens = static_cast<uint64_t>(tokens_ / static_cast<double>(size_));
        return static_cast<size_t>(std::min(by_tokens, left / size_));
    }
    // `n` datagrams of size() were handed to the socket.
    void spend(size_t n) {
        tokens_ -= static_cast<double>(n * size_);
        if (tokens_ < 0) tokens_ = 0;
        sent_ += n * size_;
    }
    // Tokens not used now are lost (a congested socket does not save up).
    void forfeit() { tokens_ = 0; }

    bool live(TimePoint now) const { return started_ && now - last_request_ <= liveness_; }
    size_t size() const { return size_; }
    uint32_t rate() const { return rate_; }
    uint64_t total() const { return total_; }
    uint64_t sent() const { return sent_; }

    static constexpr size_t kMinSize = crypto::kOverhead + kDataHeaderSize;

private:
    uint32_t rate_ = 0;
    uint64_t total_ = 0;
    uint64_t sent_ = 0;
    size_t size_ = kMinSize;
    double tokens_ = 0;
    double burst_ = 0;
    bool started_ = false;
    TimePoint refilled_{};
    TimePoint last_request_{};
    std::chrono::milliseconds liveness_{0};
};

}  // namespace porthop::probe
