#include "probe/probe_report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace porthop::probe {

namespace {

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string mbit(double bytes_per_s) { return fmt("%.2f Mbit/s", bytes_per_s * 8 / 1e6); }
std::string megabytes(double bytes) { return fmt("%.2f MB", bytes / 1e6); }

std::string duration_flag(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
    return std::to_string(d.count()) + "ms";
}

// Mean downstream rate of a flow over [from, to) seconds of probe time; -1
// when the flow has no sample there.
double rate_in(const FlowResult& f, double from, double to) {
    double bytes = 0, time = 0;
    for (const Sample& s : f.series.samples) {
        double end = f.start_s + s.age_s;
        double mid = end - s.dt_s / 2;
        if (mid < from || mid >= to) continue;
        bytes += s.down_bytes;
        time += s.dt_s;
    }
    return time > 0 ? bytes / time : -1;
}

nlohmann::json onset_json(const std::optional<Onset>& o) {
    if (!o) return nullptr;
    return {{"age_s", std::round(o->age_s * 100) / 100}, {"bytes", static_cast<uint64_t>(o->bytes)}};
}

nlohmann::json flow_json(const FlowResult& f) {
    nlohmann::json samples = nlohmann::json::array();
    for (const Sample& s : f.series.samples) {
        samples.push_back({std::round(s.age_s * 1000) / 1000, std::round(s.dt_s > 0 ? s.down_bytes / s.dt_s : 0),
                           static_cast<uint64_t>(s.flow_bytes)});
    }
    return {{"label", f.label},
            {"port", f.port},
            {"start_s", std::round(f.start_s * 1000) / 1000},
            {"requested_rate", static_cast<uint64_t>(f.series.requested_rate)},
            {"down_bytes", f.down_bytes},
            {"up_bytes", f.up_bytes},
            {"up_bytes_server_received", f.server_received},
            {"samples_columns", {"age_s", "down_rate", "flow_bytes"}},
            {"samples", samples}};
}

}  // namespace

std::string render_chart(const ProbeResult& result, size_t width, size_t height) {
    double span = std::max(result.elapsed_s, 1.0);
    size_t cols = std::min(width, static_cast<size_t>(std::ceil(span / 0.5)));
    double col_s = span / static_cast<double>(cols);
    struct Column {
        double a = -1, b = -1, f = -1;
    };
    std::vector<Column> columns(cols);
    double top = 0;
    for (size_t c = 0; c < cols; ++c) {
        double from = static_cast<double>(c) * col_s, to = from + col_s;
        columns[c].a = rate_in(result.fast, from, to);
        columns[c].b = rate_in(result.slow, from, to);
        for (const FlowResult& f : result.fresh) columns[c].f = std::max(columns[c].f, rate_in(f, from, to));
        top = std::max({top, columns[c].a, columns[c].b, columns[c].f});
    }
    if (top <= 0) top = 1;
    std::vector<std::string> grid(height, std::string(cols, ' '));
    auto plot = [&](size_t c, double rate, char mark) {
        if (rate < 0) return;
        auto row = static_cast<size_t>(std::lround(rate / top * static_cast<double>(height - 1)));
        char& cell = grid[height - 1 - std::min(row, height - 1)][c];
        cell = cell == ' ' ? mark : '*';
    };
    for (size_t c = 0; c < cols; ++c) {
        plot(c, columns[c].a, 'A');
        plot(c, columns[c].b, 'B');
        plot(c, columns[c].f, 'f');
    }
    std::string out = "rate (Mbit/s) over time: A long flow, B long flow at 1/4 rate, f fresh flows, * overlap\n";
    for (size_t r = 0; r < height; ++r) {
        double value = top * static_cast<double>(height - 1 - r) / static_cast<double>(height - 1);
        out += fmt("%7.2f |", value * 8 / 1e6) + grid[r] + "\n";
    }
    out += "        +" + std::string(cols, '-') + "\n";
    std::string axis(cols + 9, ' ');
    for (size_t c = 0; c < cols; c += 10) {
        std::string label = fmt("%.0fs", static_cast<double>(c) * col_s);
        if (9 + c + label.size() <= axis.size()) axis.replace(9 + c, label.size(), label);
    }
    out += axis + "\n";
    return out;
}

std::string render_summary(const ProbeReport& report) {
    const Analysis& a = report.analysis;
    const ProbeResult& r = report.result;
    std::string out = "porthop probe " + report.server + ": " + fmt("%.0f s", r.elapsed_s) + ", long flows at " +
                      mbit(report.rate) + " and " + mbit(report.rate / 4.0) + ", " + std::to_string(r.fresh.size()) +
                      " fresh flows at " + mbit(report.rate) + "\n";
    if (!r.answered) {
        return out +
               "no answer from the server relay: check --psk-file (the server's key), that it runs "
               "--mode session, the address and ports, and that both clocks are right (within 30 s)\n";
    }
    out += "\n";
    if (a.kind == ThrottleKind::none) {
        out += "Throttling: no throttling seen\n";
        out += "  long flow: " + mbit(a.long_rate) + ", fresh flows: " + mbit(a.fresh_rate) + "\n";
        out += "Recommended: no change (keep your --hop-interval / --hop-bytes)\n";
    } else if (a.kind == ThrottleKind::per_flow) {
        out += "Throttling: YES, every flow capped from its first byte (a per-flow rate cap)\n";
        out += "  long flow: " + mbit(a.long_rate) + " all along; with a fresh flow beside it the flows carried " +
               mbit(a.parallel_rate) + " together\n";
        out += "Recommended: --paths " + std::to_string(a.paths.value_or(2)) +
               " (concurrent flows: enough to carry the probe's rate; hopping alone does not help)\n";
    } else {
        const char* by = a.kind == ThrottleKind::age ? "by flow age"
                         : a.kind == ThrottleKind::volume
                             ? "by volume (bytes per flow)"
                             : "by age or by volume: unclear (probe longer, or with a higher --rate)";
        out += std::string("Throttling: YES, ") + by + "\n";
        out += "  onset: at " + fmt("%.1f s", a.fast->age_s) + " / " + megabytes(a.fast->bytes) + " on the long flow";
        if (a.slow) {
            out += ", at " + fmt("%.1f s", a.slow->age_s) + " / " + megabytes(a.slow->bytes) + " on the 1/4-rate one";
        } else {
            out += "; the 1/4-rate one was not throttled";
        }
        out += "\n";
        out += "  long flow: " + mbit(a.long_rate) + " before, " + mbit(a.throttled_rate) +
               " after; fresh flows: " + mbit(a.fresh_rate);
        if (a.throttled_rate > 0) out += fmt(" (%.0fx the throttled rate)", a.fresh_rate / a.throttled_rate);
        out += "\n";
        out += "Recommended:";
        if (a.hop_interval) out += " --hop-interval " + duration_flag(*a.hop_interval);
        if (a.hop_bytes) out += " --hop-bytes " + std::to_string(*a.hop_bytes);
        out += " (half the onset)\n";
    }
    // Upstream carries only the probe's requests (small, ten a second per
    // flow): what reached the server, as it last reported.
    double up_time = std::max(r.elapsed_s, 1e-3);
    out += "  upstream: " + fmt("%.1f kbit/s", r.fast.up_bytes * 8 / up_time / 1e3) +
           " of requests sent on the long flow, " +
           fmt("%.0f%%", r.fast.up_bytes > 0 ? 100.0 * r.fast.server_received / r.fast.up_bytes : 0.0) +
           " reached the server\n";
    out += '\n';
    out += render_chart(r);
    return out;
}

std::string render_json(const ProbeReport& report) {
    const Analysis& a = report.analysis;
    const ProbeResult& r = report.result;
    nlohmann::json recommended = nullptr;
    if (a.hop_interval || a.hop_bytes || a.paths) {
        recommended = nlohmann::json::object();
        if (a.paths) recommended["paths"] = *a.paths;
        if (a.hop_interval) recommended["hop_interval"] = duration_flag(*a.hop_interval);
        if (a.hop_bytes) recommended["hop_bytes"] = *a.hop_bytes;
    }
    nlohmann::json fresh = nlohmann::json::array();
    for (const FlowResult& f : r.fresh) fresh.push_back(flow_json(f));
    nlohmann::json doc = {
        {"server", report.server},
        {"duration_s", std::round(r.elapsed_s * 100) / 100},
        {"rate", report.rate},
        {"answered", r.answered},
        {"received_bytes", r.received_bytes},
        {"rejected_datagrams", r.rejected},
        {"throttled", a.kind != ThrottleKind::none},
        {"kind", to_string(a.kind)},
        {"onset", onset_json(a.fast)},
        {"onset_slow_flow", onset_json(a.slow)},
        {"long_rate", std::round(a.long_rate)},
        {"throttled_rate", std::round(a.throttled_rate)},
        {"fresh_rate", std::round(a.fresh_rate)},
        {"parallel_rate", std::round(a.parallel_rate)},
        {"recommended", recommended},
        {"flows", {{"long", flow_json(r.fast)}, {"long_quarter", flow_json(r.slow)}, {"fresh", fresh}}},
    };
    return doc.dump(2) + "\n";
}

}  // namespace porthop::probe
