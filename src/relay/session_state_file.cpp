#include "relay/session_state_file.hpp"

#include "net/udp_socket.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace porthop::relay {

namespace {

constexpr int kFormat = 2;
using nlohmann::json;

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json to_json(const SavedSession& s) {
    json j{{"peer", s.peer.to_string()},
           {"upstream_port", s.upstream_port},
           {"listener", s.listener},
           {"local", s.local.empty() ? std::string() : s.local.ip_string()},
           {"server_port", s.server_port}};
    if (s.id != 0 || s.send_next != 0) {
        char id[17];
        std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(s.id));
        j["id"] = id;
        j["send_next"] = s.send_next;
        j["recv_newest"] = s.recv_newest;
    }
    return j;
}

// A port (1..65535) under `key`, else 0.
uint16_t port_of(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_unsigned()) return 0;
    auto v = it->get<uint64_t>();
    return v <= 65535 ? static_cast<uint16_t>(v) : 0;
}

uint64_t unsigned_of(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string string_of(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<SavedSession> from_json(const json& j, bool session_mode) {
    if (!j.is_object()) return std::nullopt;
    auto peer = net::Address::parse_ip_port(string_of(j, "peer"));
    SavedSession s;
    s.upstream_port = port_of(j, "upstream_port");
    if (!peer || s.upstream_port == 0) return std::nullopt;
    s.peer = *peer;
    s.listener = static_cast<size_t>(unsigned_of(j, "listener"));
    s.server_port = port_of(j, "server_port");
    if (std::string local = string_of(j, "local"); !local.empty()) {
        auto l = net::Address::parse_ip(local);
        if (!l) return std::nullopt;
        s.local = *l;
    }
    if (session_mode) {
        std::string id = string_of(j, "id");
        if (id.size() != 16 || id.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
        s.id = std::stoull(id, nullptr, 16);
        s.send_next = unsigned_of(j, "send_next");
        s.recv_newest = unsigned_of(j, "recv_newest");
        // Saved with a margin: never 0; and far below 2^62, which no relay
        // reaches in a lifetime (a larger value is corrupt, and would wrap).
        constexpr uint64_t kCounterLimit = uint64_t{1} << 62;
        if (s.send_next == 0 || s.send_next >= kCounterLimit || s.recv_newest >= kCounterLimit) return std::nullopt;
    }
    return s;
}

}  // namespace

bool write_state_file(const std::string& path, const StateFile& state) {
    json sessions = json::array();
    for (const auto& s : state.sessions) sessions.push_back(to_json(s));
    json doc{{"porthop_state", kFormat},
             {"role", state.role},
             {"mode", state.mode},
             {"generation", state.generation},
             {"saved_at", unix_seconds(std::chrono::system_clock::now())},
             {"sessions", std::move(sessions)}};
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) return false;
        out << doc.dump() << '\n';
        out.flush();
        if (!out) {
            errno = errno != 0 ? errno : EIO;
            return false;
        }
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

StateFile parse_state_file(std::string_view text, const std::string& role, const std::string& mode,
                           std::chrono::system_clock::time_point now, Duration max_age, std::string& why) {
    StateFile state{role, mode, 0, {}};
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        why = "not a porthop state file (not JSON)";
        return state;
    }
    auto format = doc.find("porthop_state");
    if (format == doc.end() || !format->is_number_integer() || format->get<int64_t>() != kFormat) {
        why = "another state file format than " + std::to_string(kFormat);
        return state;
    }
    if (string_of(doc, "role") != role || string_of(doc, "mode") != mode) {
        why = "written by a " + string_of(doc, "role") + " relay in " + string_of(doc, "mode") + " mode, not a " +
              role + " relay in " + mode + " mode";
        return state;
    }
    // A file saved before the idle timeout holds sessions the far end has
    // given up on; a generation is still worth keeping (it only grows).
    state.generation = unsigned_of(doc, "generation");
    auto saved_at = doc.find("saved_at");
    const int64_t now_s = unix_seconds(now);
    int64_t at = saved_at != doc.end() && saved_at->is_number_integer() ? saved_at->get<int64_t>() : -1;
    if (at < 0 || at > now_s || now_s - at > std::chrono::duration_cast<std::chrono::seconds>(max_age).count()) {
        why = at < 0 || at > now_s
                  ? std::string("no valid saved_at time")
                  : "stale (saved " + std::to_string(now_s - at) + " s ago, longer than the idle timeout)";
        return state;
    }
    auto sessions = doc.find("sessions");
    if (sessions == doc.end() || !sessions->is_array()) {
        why = "no session list";
        return state;
    }
    for (const json& j : *sessions) {
        if (auto s = from_json(j, mode == "session")) state.sessions.push_back(*s);
    }
    return state;
}

StateFile read_state_file(const std::string& path, const std::string& role, const std::string& mode, Duration max_age) {
    std::ifstream in(path);
    if (!in) {
        if (errno != ENOENT) spdlog::warn("cannot read --state-file {}: starting without its sessions", path);
        return StateFile{role, mode, 0, {}};
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string why;
    StateFile state = parse_state_file(text.str(), role, mode, std::chrono::system_clock::now(), max_age, why);
    if (!why.empty()) spdlog::warn("--state-file {}: {}; starting without its sessions", path, why);
    return state;
}

void restore_sessions(const std::vector<SavedSession>& sessions, const std::string& path,
                      const std::function<bool(const SavedSession&)>& restore) {
    size_t restored = 0;
    for (const SavedSession& saved : sessions) {
        try {
            if (restore(saved)) ++restored;
        } catch (const net::NetError& e) {
            spdlog::warn("cannot restore session {}: {}", saved.peer.to_string(), e.what());
        }
    }
    if (restored != 0) spdlog::info("restored {} sessions from {}", restored, path);
}

}  // namespace porthop::relay
