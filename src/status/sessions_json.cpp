#include "status/sessions_json.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace porthop::status {
namespace {

using Json = nlohmann::ordered_json;
using metrics::HopReason;
using metrics::kHopReasonNames;

// Milliseconds are enough for a human or a script, and keep each number
// short.
double milliseconds(double seconds) { return std::round(seconds * 1000) / 1000; }
uint64_t whole(double rate) { return rate > 0 ? uint64_t(std::llround(rate)) : 0; }

Json session_json(const relay::SessionReport& s) {
    Json j;
    j["peer"] = s.peer;
    j["ports"] = s.ports;
    j["age_seconds"] = milliseconds(s.age_seconds);
    j["idle_seconds"] = milliseconds(s.idle_seconds);
    j["bytes_up"] = s.bytes_up;
    j["bytes_down"] = s.bytes_down;
    j["rate_up_bytes_per_second"] = whole(s.rate_up);
    j["rate_down_bytes_per_second"] = whole(s.rate_down);
    if (s.hops) {
        const relay::HopReport& h = *s.hops;
        j["port_seconds"] = milliseconds(h.port_seconds);
        j["port_bytes"] = h.port_bytes;
        Json by_reason = Json::object();
        for (size_t r = 0; r < h.by_reason.size(); ++r) by_reason[std::string(kHopReasonNames[r])] = h.by_reason[r];
        j["hops"] = std::move(by_reason);
        if (h.last) {
            j["last_hop"] =
                Json{{"reason", kHopReasonNames[size_t(*h.last)]}, {"seconds_ago", milliseconds(h.last_seconds_ago)}};
        } else {
            j["last_hop"] = nullptr;
        }
    }
    return j;
}

Json report_json(const relay::SessionsReport& report) {
    Json j;
    j["role"] = report.role;
    j["mode"] = report.mode;
    j["sessions_open"] = report.open;
    j["limit"] = report.limit;
    j["order"] = "last_active";  // most recently active first
    Json sessions = Json::array();
    for (const auto& s : report.sessions) sessions.push_back(session_json(s));
    j["sessions"] = std::move(sessions);
    return j;
}

// "[json.exception.out_of_range.403] key 'peer' not found": the part after
// "] " says what is wrong.
SessionsJsonError error_of(const nlohmann::json::exception& e) {
    std::string message = e.what();
    if (auto end = message.find("] "); end != std::string::npos) message.erase(0, end + 2);
    return SessionsJsonError(message);
}

HopReason hop_reason(std::string_view name) {
    auto it = std::find(std::begin(kHopReasonNames), std::end(kHopReasonNames), name);
    if (it == std::end(kHopReasonNames)) throw SessionsJsonError("unknown hop reason \"" + std::string(name) + "\"");
    return HopReason(it - std::begin(kHopReasonNames));
}

relay::SessionReport session_from(const Json& j) {
    relay::SessionReport s;
    s.peer = j.at("peer").get<std::string>();
    s.ports = j.at("ports").get<std::vector<uint16_t>>();
    s.age_seconds = j.at("age_seconds").get<double>();
    s.idle_seconds = j.at("idle_seconds").get<double>();
    s.bytes_up = j.at("bytes_up").get<uint64_t>();
    s.bytes_down = j.at("bytes_down").get<uint64_t>();
    s.rate_up = j.at("rate_up_bytes_per_second").get<double>();
    s.rate_down = j.at("rate_down_bytes_per_second").get<double>();
    if (j.contains("hops")) {
        relay::HopReport h;
        h.port_seconds = j.at("port_seconds").get<double>();
        h.port_bytes = j.at("port_bytes").get<uint64_t>();
        for (const auto& [name, count] : j.at("hops").items())
            h.by_reason[size_t(hop_reason(name))] = count.get<uint64_t>();
        const Json& last = j.at("last_hop");
        if (!last.is_null()) {
            h.last = hop_reason(last.at("reason").get<std::string>());
            h.last_seconds_ago = last.at("seconds_ago").get<double>();
        }
        s.hops = h;
    }
    return s;
}

}  // namespace

std::string to_json(const relay::SessionsReport& report) { return report_json(report).dump() + "\n"; }

std::string indent(std::string_view text) {
    try {
        return Json::parse(text).dump(2) + "\n";
    } catch (const nlohmann::json::exception& e) {
        throw error_of(e);
    }
}

relay::SessionsReport from_json(std::string_view text) {
    try {
        const Json j = Json::parse(text);
        relay::SessionsReport report;
        report.role = j.at("role").get<std::string>();
        report.mode = j.at("mode").get<std::string>();
        report.open = j.at("sessions_open").get<uint64_t>();
        report.limit = j.at("limit").get<size_t>();
        for (const Json& s : j.at("sessions")) report.sessions.push_back(session_from(s));
        return report;
    } catch (const nlohmann::json::exception& e) {
        throw error_of(e);
    }
}

}  // namespace porthop::status
