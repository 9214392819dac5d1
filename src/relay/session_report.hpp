#pragma once
// What a relay tells `porthop status` about its sessions (GET /sessions):
// plain values copied out of the session table when asked, from counters the
// relay keeps anyway, so a request costs the datagram path nothing.
// status/sessions_json.hpp turns a report into the JSON document and back.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metric_table.hpp"

namespace porthop::relay {

// A client relay session's hops: how many for each reason, the last one, and
// the current port's stint.
struct HopReport {
    std::array<uint64_t, size_t(metrics::HopReason::count_)> by_reason{};
    std::optional<metrics::HopReason> last;  // none yet: still on its first port
    double last_seconds_ago = 0;             // meaningful only with `last`
    double port_seconds = 0;                 // time on the current port
    uint64_t port_bytes = 0;                 // bytes both ways on the current port
};

struct SessionReport {
    // Client relay: the downstream application. Server relay: the client
    // relay, as the latest valid datagram's source.
    std::string peer;
    // Client relay: the server port(s) it sends to now. Server relay: the
    // port of the set that last heard from it (replies leave from there).
    std::vector<uint16_t> ports;
    double age_seconds = 0;   // since the session opened
    double idle_seconds = 0;  // since its last datagram either way
    // Payload bytes: up = towards the QUIC server, down = back.
    uint64_t bytes_up = 0;
    uint64_t bytes_down = 0;
    // Bytes a second over the last sampled interval (about a second).
    double rate_up = 0;
    double rate_down = 0;
    std::optional<HopReport> hops;  // client relay only
};

// The sessions one request asked for, most recently active first, and how
// many there are in all.
struct SessionsReport {
    std::string role;  // "client" or "server"
    std::string mode;  // "plain" or "session"
    uint64_t open = 0;
    size_t limit = 0;
    std::vector<SessionReport> sessions;
};

}  // namespace porthop::relay
