#pragma once
// Monotonic time for the relays, read once per event callback and shared by
// every datagram of the batch.

#include <chrono>

namespace porthop::relay {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

}  // namespace porthop::relay
