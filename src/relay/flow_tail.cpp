#include "relay/flow_tail.hpp"

#include <algorithm>

namespace porthop::relay {

namespace {
double seconds_of(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

void FlowTail::left(uint16_t port, TimePoint now, uint64_t bytes_past, Clock::duration late) {
    Flow& slot = flows_[next_];
    if (slot.used) settle(slot);
    double late_s = std::max(0.0, seconds_of(late));
    slot = Flow{.used = true, .port = port, .left_at = now, .bytes = bytes_past, .seconds = late_s, .late = late_s};
    next_ = (next_ + 1) % kFlows;
    raise(slot);
}

bool FlowTail::arrived(uint16_t port, uint64_t bytes, TimePoint now) {
    // Newest first: with a tiny port set a port may be in the window twice.
    for (size_t i = 1; i <= kFlows; ++i) {
        Flow& f = flows_[(next_ + kFlows - i) % kFlows];
        if (!f.used || f.port != port) continue;
        f.bytes += bytes;
        f.seconds = std::max(f.seconds, f.late + std::max(0.0, seconds_of(now - f.left_at)));
        raise(f);
        return true;
    }
    return false;
}

void FlowTail::raise(const Flow& f) {
    bytes_ = std::max(bytes_, static_cast<double>(f.bytes));
    seconds_ = std::max(seconds_, f.seconds);
}

void FlowTail::settle(const Flow& f) {
    if (static_cast<double>(f.bytes) < bytes_) bytes_ -= (bytes_ - static_cast<double>(f.bytes)) / kDecay;
    if (f.seconds < seconds_) seconds_ -= (seconds_ - f.seconds) / kDecay;
}

}  // namespace porthop::relay
