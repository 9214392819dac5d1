#pragma once
// `porthop status` (the `wg show` of porthop): asks a running relay's
// --metrics endpoint for GET /sessions and renders the answer, as a table or
// as JSON. Bounded: one request, kStatusDeadline for all of it, at most
// kStatusMaxBytes of answer.

#include <chrono>
#include <stdexcept>
#include <string>

#include "config/options.hpp"

namespace porthop::status {

inline constexpr std::chrono::milliseconds kStatusDeadline{2000};
// 1000 sessions (the most /sessions lists) take about 400 kB.
inline constexpr size_t kStatusMaxBytes = 4 << 20;

// One line saying what went wrong and what to check.
struct StatusError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What to print; throws StatusError when the relay does not answer as one.
std::string show_status(const config::StatusOptions& options, std::chrono::milliseconds deadline = kStatusDeadline);

}  // namespace porthop::status
