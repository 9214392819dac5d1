#include "relay/flow_tail.hpp"

#include <algorithm>

namespace porthop::relay {

void FlowTail::left(uint16_t port, TimePoint now, uint64_t bytes_past, Clock::duration late) {
    Flow& slot = flows_[next_];
    if (slot.used) settle(slot);
    slot = Flow{.used = true, .port = port, .left_at = now, .past = bytes_past, .late = std::max(0.0, seconds(late))};
    next_ = (next_ + 1) % kFlows;
    raise(slot);
}

bool FlowTail::arrived(uint16_t port, uint64_t bytes, TimePoint now) {
    // Newest first: with a tiny port set a port may be in the window twice.
    for (size_t i = 1; i <= kFlows; ++i) {
        Flow& f = flows_[(next_ + kFlows - i) % kFlows];
        if (!f.used || f.port != port) continue;
        f.tail_bytes += bytes;
        f.tail_seconds = std::max(f.tail_seconds, seconds(now - f.left_at));
        return f.confirmed && raise(f);
    }
    return false;
}

bool FlowTail::successor_answered() {
    Flow& newest = flows_[(next_ + kFlows - 1) % kFlows];
    if (!newest.used || newest.confirmed) return false;
    newest.confirmed = true;
    return raise(newest);
}

bool FlowTail::raise(const Flow& f) {
    auto bytes = static_cast<double>(f.bytes());
    if (bytes <= bytes_ && f.seconds() <= seconds_) return false;
    bytes_ = std::max(bytes_, bytes);
    seconds_ = std::max(seconds_, f.seconds());
    return true;
}

void FlowTail::settle(const Flow& f) {
    auto bytes = static_cast<double>(f.bytes());
    if (bytes < bytes_) bytes_ -= (bytes_ - bytes) / kDecay;
    if (f.seconds() < seconds_) seconds_ -= (seconds_ - f.seconds()) / kDecay;
}

}  // namespace porthop::relay
