#pragma once
// What a client relay's sessions learn together about the path to their
// server relay (docs/design.md, "Adaptive hops"): the server ports that
// stalled (PortHealth) and the ISP's age and volume thresholds
// (LearnedThresholds). One per client relay; every session's hop schedule
// reads it and reports to it.

#include "relay/learned_thresholds.hpp"
#include "relay/port_health.hpp"

namespace porthop::relay {

struct HopMemory {
    PortHealth ports;
    LearnedThresholds thresholds;
};

}  // namespace porthop::relay
