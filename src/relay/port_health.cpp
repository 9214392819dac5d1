#include "relay/port_health.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace porthop::relay {

void PortHealth::stalled(uint16_t port, TimePoint now) {
    Entry& e = ports_[port];
    if (e.penalty.count() == 0 || now - e.until >= kForget) {
        e.penalty = kFirst;
    } else if (now < e.until) {
        // Another session's flow on it stalled too, while it was avoided
        // already (the session was on it before): the same failure.
        return;
    } else {
        e.penalty = std::min(2 * e.penalty, kMax);
    }
    e.until = now + e.penalty;
    spdlog::info("server port {} stalled: every session avoids it for {} s", port,
                 std::chrono::duration_cast<std::chrono::seconds>(e.penalty).count());
}

Duration PortHealth::penalty(uint16_t port) const {
    auto it = ports_.find(port);
    return it == ports_.end() ? Duration{0} : it->second.penalty;
}

}  // namespace porthop::relay
