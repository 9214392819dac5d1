#include "relay/session_state_file.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace porthop::relay {

namespace {
constexpr const char* kVersionLine = "porthop-server-state 1";
}  // namespace

bool write_session_state(const std::string& path, const std::vector<SavedSession>& sessions) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) return false;
        out << kVersionLine << '\n';
        for (const auto& s : sessions) {
            out << s.peer.to_string() << ' ' << s.upstream_port << ' ' << s.listener << ' '
                << (s.local.empty() ? std::string("-") : s.local.ip_string()) << '\n';
        }
        out.flush();
        if (!out) return false;
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::vector<SavedSession> read_session_state(const std::string& path) {
    std::vector<SavedSession> sessions;
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line) || line != kVersionLine) return sessions;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string peer, local;
        unsigned port = 0;
        size_t listener = 0;
        if (!(fields >> peer >> port >> listener >> local) || port == 0 || port > 65535) continue;
        auto peer_addr = net::Address::parse_ip_port(peer);
        if (!peer_addr) continue;
        SavedSession s{*peer_addr, static_cast<uint16_t>(port), listener, {}};
        if (local != "-") {
            auto l = net::Address::parse_ip(local);
            if (!l) continue;
            s.local = *l;
        }
        sessions.push_back(s);
    }
    return sessions;
}

}  // namespace porthop::relay
