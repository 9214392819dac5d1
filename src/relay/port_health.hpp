#pragma once
// Server ports that stalled, remembered by the whole client relay
// (docs/design.md, "Blocked ports"): an ISP that blocks some server ports
// outright, for days, then costs one stall per port, not one per session per
// hop. A port whose flow stalled (a stall hop left it, and the port it went
// to answered: the port was the cause) is avoided by every session's hop
// draw for kFirst; if it stalls again the next time it is used, for twice as
// long, up to kMax. A reply from the port forgets it.
// Only stalled ports are kept (none while the ISP blocks nothing), so the
// hot path pays one emptiness test per received batch.

#include <cstdint>
#include <unordered_map>

#include "io/clock.hpp"

namespace porthop::relay {

class PortHealth {
public:
    static constexpr Duration kFirst{30'000};
    static constexpr Duration kMax{3'600'000};
    // A port forgotten this long after its avoidance ended starts again at
    // kFirst: the ISP changed its rules.
    static constexpr Duration kForget{3 * kMax};

    // A session's flow to `port` stalled (logged: a rare event, at most once
    // per port per avoidance).
    void stalled(uint16_t port, TimePoint now);
    // A reply came from `port`: it works.
    void answered(uint16_t port) {
        if (!ports_.empty()) ports_.erase(port);
    }
    bool avoided(uint16_t port, TimePoint now) const {
        if (ports_.empty()) return false;
        auto it = ports_.find(port);
        return it != ports_.end() && now < it->second.until;
    }
    // For tests and logs.
    Duration penalty(uint16_t port) const;
    size_t remembered() const { return ports_.size(); }

private:
    struct Entry {
        TimePoint until;
        Duration penalty{0};
    };
    std::unordered_map<uint16_t, Entry> ports_;
};

}  // namespace porthop::relay
