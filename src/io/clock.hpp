#pragma once
// Monotonic time for everything that sends and receives (the relays, the
// probe and its responder), read once per event callback and shared by every
// datagram of the batch. Defined once, in namespace porthop, so every layer
// names the same types.

#include <chrono>

namespace porthop {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

// For rates and logs: a duration as a count of seconds.
inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace porthop
