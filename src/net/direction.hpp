#pragma once
// The two directions of a relayed flow, one enum for every layer: the
// metrics label traffic with it, the session keys are derived per direction.

#include <cstdint>

namespace porthop::net {

// upstream: from the application (QUIC client) towards its server, i.e.
// client relay -> server relay; downstream: the way back.
enum class Direction : uint8_t { upstream, downstream, count_ };

}  // namespace porthop::net
