#pragma once
// What `porthop probe` prints: a human summary with a small text chart of
// the rates over time (long flows vs fresh flows), or JSON for scripts.

#include <string>

#include "probe/probe_client.hpp"
#include "probe/rate_analysis.hpp"

namespace porthop::probe {

struct ProbeReport {
    std::string server;  // ADDR:PORTSET
    double duration_s = 0;
    uint32_t rate = 0;  // bytes/s asked
    const ProbeResult& result;
    const Analysis& analysis;
};

std::string render_summary(const ProbeReport& report);
// Rows: rate (top: the highest seen), columns: time; A = long flow at R,
// B = long flow at R/4, f = fresh flows, * = several at once.
std::string render_chart(const ProbeResult& result, size_t width = 60, size_t height = 8);
std::string render_json(const ProbeReport& report);

}  // namespace porthop::probe
