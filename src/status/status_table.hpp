#pragma once
// What `porthop status` prints without --json: a title line, a header, then
// one line per session (DESIGN.md, "Command line"), columns aligned, sizes
// and rates in human units.

#include <string>
#include <string_view>

#include "relay/session_report.hpp"

namespace porthop::status {

// `source`: the --metrics address asked, for the title line.
std::string render_table(const relay::SessionsReport& report, std::string_view source);

// 0 B, 999 B, 1.2 kB, 48.3 MB, 1.21 GB (decimal, as `porthop probe`).
std::string human_bytes(double bytes);
// From bytes a second: 0 bit/s, 96.0 kbit/s, 7.90 Mbit/s.
std::string human_rate(double bytes_per_second);
// 850ms, 4.2s, 3m12s, 2h05m.
std::string human_duration(double seconds);

}  // namespace porthop::status
