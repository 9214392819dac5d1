#include "status/status_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace porthop::status {
namespace {

// Three significant digits and a unit prefix: "96.0 k", "7.90 M".
std::string scaled(double v, const char* unit) {
    static constexpr const char* kPrefixes[] = {"", "k", "M", "G", "T"};
    size_t p = 0;
    while (v >= 999.5 && p + 1 < std::size(kPrefixes)) {
        v /= 1000;
        ++p;
    }
    const int decimals = p == 0 ? 0 : v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
    return fmt::format("{:.{}f} {}{}", v, decimals, kPrefixes[p], unit);
}

std::string ports_text(const std::vector<uint16_t>& ports) {
    std::string out;
    for (uint16_t p : ports) {
        if (!out.empty()) out += ',';
        out += std::to_string(p);
    }
    return out.empty() ? "-" : out;
}

std::string hops_text(const relay::HopReport& h) {
    uint64_t total = 0;
    std::string detail;
    for (size_t r = 0; r < h.by_reason.size(); ++r) {
        total += h.by_reason[r];
        if (h.by_reason[r] == 0) continue;
        if (!detail.empty()) detail += ", ";
        detail += metrics::kHopReasonNames[r];
        detail += ' ';
        detail += std::to_string(h.by_reason[r]);
    }
    return total == 0 ? "0" : std::to_string(total) + " (" + detail + ")";
}

std::string last_hop_text(const relay::HopReport& h) {
    if (!h.last) return "-";
    return human_duration(h.last_seconds_ago) + " ago, " + std::string(metrics::kHopReasonNames[size_t(*h.last)]);
}

using Row = std::vector<std::string>;

// Columns padded to their widest cell; the last one is not padded.
std::string aligned(const std::vector<Row>& rows) {
    std::vector<size_t> width;
    for (const Row& row : rows) {
        width.resize(std::max(width.size(), row.size()));
        for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    for (const Row& row : rows) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) line.append(width[c] - row[c].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace

std::string human_bytes(double bytes) { return scaled(bytes, "B"); }

std::string human_rate(double bytes_per_second) { return scaled(bytes_per_second * 8, "bit/s"); }

std::string human_duration(double seconds) {
    if (seconds < 1) return fmt::format("{:.0f}ms", std::max(0.0, seconds * 1000));
    if (seconds < 60) return fmt::format("{:.1f}s", seconds);
    auto whole = static_cast<uint64_t>(seconds);
    if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
    return fmt::format("{}h{:02}m", whole / 3600, whole / 60 % 60);
}

std::string render_table(const relay::SessionsReport& report, std::string_view source) {
    const bool client = report.role == "client";
    std::string out = "porthop " + report.role + " relay (" + report.mode + " mode) at " + std::string(source) + ": " +
                      std::to_string(report.open) + (report.open == 1 ? " session" : " sessions");
    if (report.open == 0) return out + "\n";
    out += ", most recently active first\n";

    std::vector<Row> rows;
    if (client) {
        rows.push_back({"PEER", "PORT", "ON PORT", "UP", "DOWN", "RATE UP", "RATE DOWN", "IDLE", "LAST HOP", "HOPS"});
    } else {
        rows.push_back({"PEER", "PORT", "UP", "DOWN", "RATE UP", "RATE DOWN", "IDLE", "AGE"});
    }
    for (const relay::SessionReport& s : report.sessions) {
        Row row{s.peer, ports_text(s.ports)};
        if (client) {
            relay::HopReport h = s.hops.value_or(relay::HopReport{});
            row.push_back(human_duration(h.port_seconds) + ", " + human_bytes(double(h.port_bytes)));
        }
        row.insert(row.end(), {human_bytes(double(s.bytes_up)), human_bytes(double(s.bytes_down)),
                               human_rate(s.rate_up), human_rate(s.rate_down), human_duration(s.idle_seconds)});
        if (client) {
            relay::HopReport h = s.hops.value_or(relay::HopReport{});
            row.insert(row.end(), {last_hop_text(h), hops_text(h)});
        } else {
            row.push_back(human_duration(s.age_seconds));
        }
        rows.push_back(std::move(row));
    }
    out += aligned(rows);
    if (report.sessions.size() < report.open) {
        out += "... and " + std::to_string(report.open - report.sessions.size()) + " more, less recently active (" +
               std::to_string(report.sessions.size()) + " shown; GET /sessions?limit=N on the relay lists more)\n";
    }
    return out;
}

}  // namespace porthop::status
