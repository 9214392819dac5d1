#include "config/option_table.hpp"

#include <tuple>
#include <type_traits>

#include "config/messages.hpp"
#include "config/validator.hpp"

namespace porthop::config {

namespace {

std::string text(Duration d) { return format_duration(d); }
std::string text(const net::Address& a) { return a.empty() ? "(none)" : a.to_string(); }
std::string text(const std::optional<net::Address>& a) { return a ? a->to_string() : "(off)"; }
std::string text(bool b) { return b ? "true" : "false"; }
std::string text(const std::string& s) { return s.empty() ? "(none)" : s; }
std::string text(Mode m) { return to_string(m); }
template <typename N>
requires std::is_integral_v<N> std::string text(N n) { return std::to_string(n); }
// "10.0.0.1:20000-20999", "[::]:20000-20999"
std::string text(const net::Address& ip, const PortSet& ports) {
    if (ip.empty() && ports.ports.empty()) return "(none)";
    // Built by appending: GCC 12's -Wrestrict misfires on chained operator+.
    std::string out;
    if (ip.is_v6()) out += '[';
    out += ip.ip_string();
    if (ip.is_v6()) out += ']';
    out += ':';
    out += ports.ports.empty() ? "(none)" : ports.to_string();
    return out;
}

// The Field of one Options member.
template <auto Member>
constexpr Field field() {
    return Field{[](const Options& o) { return text(o.*Member); },
                 [](Options& to, const Options& from) { to.*Member = from.*Member; }};
}
// The Field of an address and its port set, one option on the command line.
template <auto Ip, auto Ports>
constexpr Field address_and_ports() {
    return Field{[](const Options& o) { return text(o.*Ip, o.*Ports); }, nullptr};
}
constexpr Field kNoField{};

// Reads of the values the rows share.
template <auto Member>
constexpr Read duration() {
    return [](const Validator& v, std::string_view n, Options& o) {
        if (auto d = v.duration(n)) o.*Member = *d;
    };
}
template <auto Member>
constexpr Read positive_duration() {
    return [](const Validator& v, std::string_view n, Options& o) {
        if (auto d = v.positive_duration(n)) o.*Member = *d;
    };
}
template <auto Member>
constexpr Read buffer_size() {
    return [](const Validator& v, std::string_view n, Options& o) {
        if (auto size = v.buffer_size(n)) o.*Member = *size;
    };
}
// A count in [Min, Max]; "Min to Max" in the message.
template <auto Member, uint64_t Min, uint64_t Max>
constexpr Read count() {
    return [](const Validator& v, std::string_view n, Options& o) {
        const std::string range = std::to_string(Min) + " to " + std::to_string(Max);
        using T = std::remove_reference_t<decltype(o.*Member)>;
        if (auto c = v.count(n, Min, Max, range)) o.*Member = static_cast<T>(*c);
    };
}
// A path that must not be empty; `fix` ends the message.
template <auto Member>
void path(const Validator& v, std::string_view n, Options& o, const char* fix) {
    if (const RawValue* p = v.get(n)) {
        if (p->text.empty()) throw ConfigError(label(n, *p) + ": " + fix);
        o.*Member = p->text;
    }
}

constexpr Spec kSpecs[] = {
    {"listen", kClient, Kind::text, "ADDR:PORT",
     "Required. Downstream socket the QUIC client sends to, e.g. 127.0.0.1:4433", Reload::restart,
     field<&Options::listen>(),
     [](const Validator& v, std::string_view n, Options& o) { o.listen = *v.addr_port(n, "127.0.0.1:4433"); },
     Phase::address, true},
    {"server", kClient, Kind::text, "HOST:PORTSET",
     "Required. Server relay and its port set, e.g. vps.example.com:20000-20999", Reload::restart,
     address_and_ports<&Options::server_ip, &Options::server_ports>(),
     [](const Validator& v, std::string_view n, Options& o) {
         std::tie(o.server_ip, o.server_ports) = v.host_port_set(n, true, "vps.example.com:20000-20999");
     },
     Phase::address, true},
    {"listen", kServer, Kind::text, "ADDR:PORTSET",
     "Required. Address and ports to listen on, e.g. 0.0.0.0:20000-20999", Reload::restart,
     address_and_ports<&Options::listen_ip, &Options::listen_ports>(),
     [](const Validator& v, std::string_view n, Options& o) {
         std::tie(o.listen_ip, o.listen_ports) = v.host_port_set(n, false, "0.0.0.0:20000-20999");
     },
     Phase::address, true},
    {"upstream", kServer, Kind::text, "HOST:PORT", "Required. The real QUIC server, e.g. 127.0.0.1:443",
     Reload::restart, field<&Options::upstream>(),
     [](const Validator& v, std::string_view n, Options& o) { o.upstream = v.host_port(n, "127.0.0.1:443"); },
     Phase::address, true},
    {"state-file", kRelays, Kind::text, "PATH",
     "Save sessions here and take them back after a restart, so QUIC connections survive it (default: off)",
     Reload::restart, field<&Options::state_file>(),
     [](const Validator& v, std::string_view n, Options& o) {
         path<&Options::state_file>(v, n, o, "empty path; give a file such as /var/lib/porthop/server.state");
     },
     Phase::address},
    {"workers", kServer, Kind::count, "N|auto",
     "Relay with N threads, each its own loop and sockets; the kernel steers each session to one of them. auto: "
     "one per CPU this process may use (default 1)",
     Reload::restart, field<&Options::workers>(),
     [](const Validator& v, std::string_view n, Options& o) {
         if (const RawValue* w = v.get(n); w != nullptr && w->text == "auto") {
             o.workers = 0;  // resolved at start: one per CPU in the affinity mask
         } else if (auto k = v.count(n, 1, kMaxWorkers, "1 to " + std::to_string(kMaxWorkers) + ", or auto")) {
             o.workers = static_cast<uint32_t>(*k);
         }
     }},
    {"hop-interval", kClient, Kind::text, "DURATION", "Hop to another server port after this long (default 10s)",
     Reload::relay, field<&Options::hop_interval>(), positive_duration<&Options::hop_interval>()},
    // After --hop-interval: its default and its bound depend on the interval.
    {"hop-jitter", kClient, Kind::text, "DURATION",
     "Randomise each hop interval by up to this much; below --hop-interval (default 20% of it)", Reload::relay,
     field<&Options::hop_jitter>(),
     [](const Validator& v, std::string_view n, Options& o) {
         o.hop_jitter = o.hop_interval / 5;
         auto d = v.duration(n);
         if (!d) return;
         if (*d >= o.hop_interval) {
             throw ConfigError(label(n, *v.get(n)) + ": " + format_duration(*d) +
                               (*d == o.hop_interval ? " equals" : " is longer than") + " --hop-interval (" +
                               format_duration(o.hop_interval) + "); use a jitter below the interval");
         }
         o.hop_jitter = *d;
     }},
    {"hop-bytes", kClient, Kind::count, "N", "Also hop after N bytes on one port (default 0: off)", Reload::relay,
     field<&Options::hop_bytes>(),
     [](const Validator& v, std::string_view n, Options& o) {
         if (auto c = v.count(n, 0, UINT64_MAX, "a number of bytes, or 0 to turn it off")) o.hop_bytes = *c;
     }},
    {"hop-on-stall", kClient, Kind::text, "DURATION",
     "Hop when the session sent but nothing came back for this long, a blocked port (default 0s: off). Adaptive "
     "hops: at most one a second per session; after one that did not help, none for that reason for 30 s, "
     "doubling up to 4 min",
     Reload::relay, field<&Options::hop_on_stall>(), duration<&Options::hop_on_stall>()},
    {"hop-on-slowdown", kClient, Kind::flag, "",
     "Hop when the downstream rate falls below 1/8 of the best this session reached (over 2 Mbit/s) while data "
     "still flows, a throttle by age or volume; same guard as --hop-on-stall",
     Reload::relay, field<&Options::hop_on_slowdown>(),
     [](const Validator& v, std::string_view n, Options& o) { o.hop_on_slowdown = v.flag(n); }},
    {"hop-grace", kClient, Kind::text, "DURATION",
     "Session mode: keep the previous hop's socket open this long for late replies (default 3s)", Reload::relay,
     field<&Options::hop_grace>(), duration<&Options::hop_grace>()},
    {"paths", kClient, Kind::count, "N",
     "Carry each session over N concurrent flows to N ports of the set, 1 to 16, past an ISP that caps every "
     "flow's rate (default 1)",
     Reload::restart, field<&Options::paths>(), count<&Options::paths, 1, kMaxPaths>()},
    {"mode", kRelays, Kind::text, "plain|session", "Protocol between the relays (default plain)", Reload::restart,
     field<&Options::mode>(),
     [](const Validator& v, std::string_view n, Options& o) {
         if (auto m = v.choice<Mode>(n, {{"plain", Mode::plain}, {"session", Mode::session}})) o.mode = *m;
     }},
    {"psk-file", kRelays, Kind::text, "PATH", "Pre-shared key file, required by --mode session (see porthop genkey)",
     Reload::restart, field<&Options::psk_file>(),
     [](const Validator& v, std::string_view n, Options& o) {
         path<&Options::psk_file>(v, n, o, "the path is empty; give the key file's path");
     }},
    {"mtu", kRelays, Kind::count, "BYTES",
     "Session mode: path MTU, 576 to 65535; a datagram that would not fit once framed is dropped (default 1500)",
     Reload::restart, field<&Options::mtu>(), count<&Options::mtu, 576, 65535>()},
    {"idle-timeout", kRelays, Kind::text, "DURATION", "Close a session after this long without traffic (default 60s)",
     Reload::relay, field<&Options::idle_timeout>(), positive_duration<&Options::idle_timeout>()},
    {"max-sessions", kRelays, Kind::count, "N", "At most N sessions at once, 1 to 1000000 (default 4096)",
     Reload::relay, field<&Options::max_sessions>(), count<&Options::max_sessions, 1, 1'000'000>()},
    {"new-session-rate", kRelays, Kind::count, "N",
     "At most N new sessions a second from one source IP, burst 64; 0: no limit (default 20)", Reload::relay,
     field<&Options::new_session_rate>(), count<&Options::new_session_rate, 0, 1'000'000>()},
    {"metrics", kRelays, Kind::text, "ADDR:PORT", "Serve /metrics and /healthz over HTTP here (default: off)",
     Reload::restart, field<&Options::metrics>(),
     [](const Validator& v, std::string_view n, Options& o) { o.metrics = v.addr_port(n, "127.0.0.1:9100"); }},
    {"sndbuf", kRelays, Kind::count, "BYTES",
     "SO_SNDBUF of every socket, 4096 to 1073741824, or 0 for the system default (default 4 MiB)", Reload::restart,
     field<&Options::sndbuf>(), buffer_size<&Options::sndbuf>()},
    {"rcvbuf", kRelays, Kind::count, "BYTES",
     "SO_RCVBUF of every socket, 4096 to 1073741824, or 0 for the system default (default 4 MiB)", Reload::restart,
     field<&Options::rcvbuf>(), buffer_size<&Options::rcvbuf>()},
    {"no-offload", kRelays, Kind::flag, "",
     "Send and receive datagram by datagram even where the kernel offers UDP GSO/GRO (default: use them)",
     Reload::restart, Field{[](const Options& o) { return text(!o.offload); }, nullptr},
     [](const Validator& v, std::string_view n, Options& o) { o.offload = !v.flag(n); }},
    {"log-level", kRelays, Kind::text, "LEVEL", "trace, debug, info, warn, error, critical or off (default info)",
     Reload::process, field<&Options::log_level>(),
     [](const Validator& v, std::string_view, Options& o) {
         if (auto level = v.log_level()) o.log_level = *level;
     }},
    {"server", kProbe, Kind::text, "HOST:PORTSET",
     "Required. A server relay running --mode session and its port set, e.g. vps.example.com:20000-20999", Reload::none,
     kNoField, nullptr, Phase::address, true},
    {"psk-file", kProbe, Kind::text, "PATH", "Required. The server relay's pre-shared key file", Reload::none, kNoField,
     nullptr, Phase::value, true},
    {"duration", kProbe, Kind::text, "DURATION", "How long to measure, 5s to 1h (default 60s)", Reload::none, kNoField},
    {"rate", kProbe, Kind::text, "RATE",
     "Rate asked of the long flow and of each fresh flow, e.g. 8mbit, 500kbit, 1MB (a second); "
     "100kbit to 100mbit (default 8mbit)",
     Reload::none, kNoField},
    {"json", kProbe, Kind::flag, "", "Print the result as JSON (for scripts) instead of the summary", Reload::none,
     kNoField},
    {"log-level", kProbe, Kind::text, "LEVEL", "trace, debug, info, warn, error, critical or off (default warn)",
     Reload::none, kNoField},
    {"metrics", kStatus, Kind::text, "ADDR:PORT",
     "Required. The relay's --metrics address, e.g. 127.0.0.1:9101; asks its /sessions", Reload::none, kNoField,
     nullptr, Phase::address, true},
    {"json", kStatus, Kind::flag, "", "Print the relay's answer as JSON (for scripts) instead of the table",
     Reload::none, kNoField},
    // The same command line is re-read on SIGHUP, so --config cannot change.
    {"config", kRelays, Kind::text, "FILE.json",
     "Read options from a JSON object keyed by long option names; flags override it", Reload::none, kNoField,
     [](const Validator& v, std::string_view n, Options& o) {
         if (const RawValue* c = v.get(n)) o.config_file = c->text;
     }},
};

}  // namespace

std::span<const Spec> option_table() { return kSpecs; }

const Spec* find_spec(std::string_view name, unsigned role) {
    for (const Spec& s : kSpecs) {
        if (name == s.name && (s.roles & role) != 0) return &s;
    }
    return nullptr;
}

const char* role_name(unsigned role) {
    switch (role) {
        case kClient: return "client";
        case kServer: return "server";
        case kProbe: return "probe";
        case kStatus: return "status";
        default: return "porthop";
    }
}

const char* other_role_owning(std::string_view name, unsigned role) {
    for (unsigned other : {kClient, kServer}) {
        if (other != role && find_spec(name, other) != nullptr) return role_name(other);
    }
    return nullptr;
}

unsigned role_mask(Role role) { return role == Role::client ? kClient : kServer; }

std::vector<OptionDifference> differences(const Options& running, const Options& reread) {
    std::vector<OptionDifference> out;
    const unsigned role = role_mask(running.role);
    for (const Spec& s : kSpecs) {
        if ((s.roles & role) == 0 || s.reload == Reload::none) continue;
        std::string from = s.field.text(running);
        std::string to = s.field.text(reread);
        if (from != to) out.push_back(OptionDifference{s.name, std::move(from), std::move(to), s.reload});
    }
    return out;
}

void copy_relay_runtime_options(Options& to, const Options& from) {
    for (const Spec& s : kSpecs) {
        if (s.reload == Reload::relay) s.field.copy(to, from);
    }
}

}  // namespace porthop::config
