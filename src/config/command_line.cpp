// The command line and the --config file (DESIGN.md, "Command line").
//
// Both sources are first reduced to the same thing: raw option text keyed by
// the long option name ("hop-interval" -> "5s"), remembering where each value
// came from. Flags override the file. One validation pass then turns the raw
// text into Options, so the command line and the file share every check and
// every error message.
#include <netdb.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/parse.hpp"

namespace porthop::config {

namespace {

// ---------------------------------------------------------------------------
// The option table: one row per (option, roles). The long name is also the
// option's key in the JSON config file.

enum RoleMask : unsigned {
    kClient = 1u << 0, kServer = 1u << 1, kRelays = kClient | kServer, kProbe = 1u << 2, kStatus = 1u << 3
};

enum class Kind {
    text,   // JSON string
    count,  // JSON integer (or a string of digits)
    flag,   // JSON boolean; on the command line a flag without a value
};

struct Spec {
    const char* name;
    unsigned roles;
    Kind kind;
    const char* value_name;  // placeholder shown in --help
    const char* help;
};

constexpr Spec kSpecs[] = {
    {"listen", kClient, Kind::text, "ADDR:PORT", "Required. Downstream socket the QUIC client sends to, e.g. 127.0.0.1:4433"},
    {"server", kClient, Kind::text, "HOST:PORTSET", "Required. Server relay and its port set, e.g. vps.example.com:20000-20999"},
    {"listen", kServer, Kind::text, "ADDR:PORTSET", "Required. Address and ports to listen on, e.g. 0.0.0.0:20000-20999"},
    {"upstream", kServer, Kind::text, "HOST:PORT", "Required. The real QUIC server, e.g. 127.0.0.1:443"},
    {"state-file", kServer, Kind::text, "PATH",
     "Save sessions here and take them back after a restart, so QUIC connections survive it (default: off)"},
    {"hop-interval", kClient, Kind::text, "DURATION", "Hop to another server port after this long (default 10s)"},
    {"hop-jitter", kClient, Kind::text, "DURATION",
     "Randomise each hop interval by up to this much; below --hop-interval (default 20% of it)"},
    {"hop-bytes", kClient, Kind::count, "N", "Also hop after N bytes on one port (default 0: off)"},
    {"hop-on-stall", kClient, Kind::text, "DURATION",
     "Hop when the session sent but nothing came back for this long, a blocked port (default 0s: off). Adaptive "
     "hops: at most one a second per session; after one that did not help, none for that reason for 30 s, "
     "doubling up to 4 min"},
    {"hop-on-slowdown", kClient, Kind::flag, "",
     "Hop when the downstream rate falls below 1/8 of the best this session reached (over 2 Mbit/s) while data "
     "still flows, a throttle by age or volume; same guard as --hop-on-stall"},
    {"hop-grace", kClient, Kind::text, "DURATION",
     "Session mode: keep the previous hop's socket open this long for late replies (default 3s)"},
    {"mode", kRelays, Kind::text, "plain|session", "Protocol between the relays (default plain)"},
    {"psk-file", kRelays, Kind::text, "PATH", "Pre-shared key file, required by --mode session (see porthop genkey)"},
    {"mtu", kRelays, Kind::count, "BYTES",
     "Session mode: path MTU, 576 to 65535; a datagram that would not fit once framed is dropped (default 1500)"},
    {"idle-timeout", kRelays, Kind::text, "DURATION", "Close a session after this long without traffic (default 60s)"},
    {"max-sessions", kRelays, Kind::count, "N", "At most N sessions at once, 1 to 1000000 (default 4096)"},
    {"new-session-rate", kRelays, Kind::count, "N",
     "At most N new sessions a second from one source IP, burst 64; 0: no limit (default 20)"},
    {"sndbuf", kRelays, Kind::count, "BYTES", "SO_SNDBUF of every socket, 4096 to 1073741824, or 0 for the system default (default 4 MiB)"},
    {"rcvbuf", kRelays, Kind::count, "BYTES", "SO_RCVBUF of every socket, 4096 to 1073741824, or 0 for the system default (default 4 MiB)"},
    {"no-offload", kRelays, Kind::flag, "",
     "Send and receive datagram by datagram even where the kernel offers UDP GSO/GRO (default: use them)"},
    {"metrics", kRelays, Kind::text, "ADDR:PORT", "Serve /metrics and /healthz over HTTP here (default: off)"},
    {"log-level", kRelays, Kind::text, "LEVEL", "trace, debug, info, warn, error, critical or off (default info)"},
    {"server", kProbe, Kind::text, "HOST:PORTSET",
     "Required. A server relay running --mode session and its port set, e.g. vps.example.com:20000-20999"},
    {"psk-file", kProbe, Kind::text, "PATH", "Required. The server relay's pre-shared key file"},
    {"duration", kProbe, Kind::text, "DURATION", "How long to measure, 5s to 1h (default 60s)"},
    {"rate", kProbe, Kind::text, "RATE",
     "Rate asked of the long flow and of each fresh flow, e.g. 8mbit, 500kbit, 1MB (a second); "
     "100kbit to 100mbit (default 8mbit)"},
    {"json", kProbe, Kind::flag, "", "Print the result as JSON (for scripts) instead of the summary"},
    {"log-level", kProbe, Kind::text, "LEVEL", "trace, debug, info, warn, error, critical or off (default warn)"},
    {"metrics", kStatus, Kind::text, "ADDR:PORT",
     "Required. The relay's --metrics address, e.g. 127.0.0.1:9101; asks its /sessions"},
    {"json", kStatus, Kind::flag, "", "Print the relay's answer as JSON (for scripts) instead of the table"},
    {"config", kRelays, Kind::text, "FILE.json",
     "Read options from a JSON object keyed by long option names; flags override it"},
};

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

// "upstream" is a server option, "hop-interval" a client one: for messages
// about an option given to the wrong role.
const char* other_role_owning(std::string_view name, unsigned role) {
    for (unsigned other : {kClient, kServer}) {
        if (other != role && find_spec(name, other) != nullptr) return role_name(other);
    }
    return nullptr;
}

// ---------------------------------------------------------------------------
// Message helpers: everything a user typed is quoted on one line.

std::string quote(std::string_view text) {
    constexpr size_t kMax = 80;
    std::string out = "\"";
    for (size_t i = 0; i < text.size() && i < kMax; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (text.size() > kMax) out += "...";
    out += '"';
    return out;
}

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

std::string format_duration(Duration d) {
    auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
    return std::to_string(ms) + "ms";
}

// ---------------------------------------------------------------------------
// Raw values.

struct RawValue {
    std::string text;
    std::string file;  // empty: from the command line; else the --config file it came from
};
using RawOptions = std::map<std::string, RawValue, std::less<>>;

// How an error names the option: "--hop-jitter", or for a value read from
// the config file, "--hop-jitter (from /etc/porthop.json)".
std::string label(std::string_view name, const RawValue& raw) {
    std::string out = "--" + std::string(name);
    if (!raw.file.empty()) out += " (from " + raw.file + ")";
    return out;
}

// ---------------------------------------------------------------------------
// The --config file.

std::string read_file(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) {
        throw ConfigError("--config: cannot read " + quote(path) + ": " + std::strerror(errno) +
                          "; give the path of a readable JSON file");
    }
    std::string text;
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) {
        text.append(buf, n);
        if (text.size() > (1u << 20)) {
            throw ConfigError("--config: " + quote(path) + " is larger than 1 MiB; give a small JSON object of options");
        }
    }
    if (std::ferror(file.get())) {
        throw ConfigError("--config: cannot read " + quote(path) + ": " + std::strerror(errno) +
                          "; give the path of a readable JSON file");
    }
    return text;
}

// Reads the file's options for `role` into raw values; keys already present
// (given on the command line) keep their value.
void load_config_file(const std::string& path, unsigned role, RawOptions& raw) {
    const std::string where = "--config " + quote(path);
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
        // "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
        // (or out_of_range.406 for a number such as 1e400)
        std::string message = e.what();
        if (auto end = message.find("] "); message.rfind("[json.exception", 0) == 0 && end != std::string::npos) {
            message.erase(0, end + 2);
        }
        throw ConfigError(where + ": invalid JSON: " + one_line(message) + "; fix the file");
    }
    if (!doc.is_object()) {
        throw ConfigError(where + ": must hold a JSON object such as {\"listen\": \"0.0.0.0:4433\"}, not " +
                          std::string(doc.type_name()));
    }

    for (const auto& [key, value] : doc.items()) {
        const std::string at = where + ": key " + quote(key);
        if (key == "config") throw ConfigError(at + ": a config file cannot name another config file; remove the key");
        const Spec* spec = find_spec(key, role);
        if (spec == nullptr) {
            if (const char* owner = other_role_owning(key, role)) {
                throw ConfigError(at + " is a " + owner + " option; porthop " + role_name(role) +
                                  " does not take it, remove it");
            }
            throw ConfigError(at + " is not a porthop option; keys are the long option names, see porthop " +
                              role_name(role) + " --help");
        }

        std::string text;
        switch (spec->kind) {
            case Kind::text:
                if (!value.is_string()) {
                    throw ConfigError(at + " must be a string such as \"" + spec->value_name + "\", not " + value.dump());
                }
                text = value.get<std::string>();
                break;
            case Kind::count:
                if (value.is_number_unsigned()) {
                    text = std::to_string(value.get<uint64_t>());
                } else if (value.is_number_integer()) {
                    text = std::to_string(value.get<int64_t>());  // negative: validation rejects it
                } else if (value.is_string()) {
                    text = value.get<std::string>();
                } else {
                    throw ConfigError(at + " must be a whole number, not " + value.dump());
                }
                break;
            case Kind::flag:
                if (!value.is_boolean()) throw ConfigError(at + " must be true or false, not " + value.dump());
                text = value.get<bool>() ? "true" : "false";
                break;
        }
        raw.try_emplace(key, RawValue{std::move(text), path});
    }
}

// ---------------------------------------------------------------------------
// Validation: raw text -> Options.

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Why a port set is invalid, for the message; empty when it is valid.
std::string port_set_problem(std::string_view text) {
    if (text.empty()) return "the port set is empty";
    if (text.front() == ',' || text.back() == ',' || text.find(",,") != std::string_view::npos) {
        return "the port set " + quote(text) + " has an empty item between commas";
    }
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        size_t dash = item.find('-');
        auto port_ok = [](std::string_view p) {
            unsigned v = 0;
            auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
            return all_digits(p) && ec == std::errc{} && end == p.data() + p.size() && v >= 1 && v <= 65535;
        };
        if (dash == std::string_view::npos) {
            if (!port_ok(item)) return quote(item) + " is not a port 1-65535";
        } else {
            std::string_view lo = item.substr(0, dash);
            std::string_view hi = item.substr(dash + 1);
            if (!port_ok(lo) || !port_ok(hi)) return quote(item) + " is not a range of ports 1-65535";
            if (std::stoul(std::string(lo)) > std::stoul(std::string(hi))) {
                return "the range " + quote(item) + " is reversed";
            }
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return "the port set " + quote(text) + " is invalid";
}

constexpr const char* kPortSetHelp = "give ports 1-65535 as a range or a comma list, e.g. 20000-20999 or 20000-20099,20500";
constexpr const char* kAddrHelp = "an IP address, IPv6 in brackets, e.g. 0.0.0.0 or [::]";

struct HostAndRest {
    std::string_view host;
    std::string_view rest;  // after the last ':'
};

HostAndRest split_host(const std::string& where, std::string_view text, const char* form, const char* example) {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || (text.front() == '[' && text.find(']') > colon)) {
        throw ConfigError(where + ": " + quote(text) + " has no port; use " + form + ", e.g. " + example);
    }
    HostAndRest out{text.substr(0, colon), text.substr(colon + 1)};
    if (out.host.empty()) {
        throw ConfigError(where + ": " + quote(text) + " has no address; use " + form + ", e.g. " + example);
    }
    if (out.host.front() != '[' && out.host.find(':') != std::string_view::npos) {
        throw ConfigError(where + ": IPv6 address " + quote(out.host) + " needs brackets; use " + form + ", e.g. " +
                          example);
    }
    return out;
}

// An IP literal ("10.0.0.1", "[::1]").
net::Address literal_ip(const std::string& where, std::string_view host) {
    auto ip = net::Address::parse_ip(host);
    if (!ip || (host.front() != '[' && ip->is_v6())) {
        throw ConfigError(where + ": " + quote(host) + " is not an IP address; use " + kAddrHelp);
    }
    return *ip;
}

// An IP literal or a DNS name, resolved now (the first answer wins).
net::Address resolve_host(const std::string& where, std::string_view host) {
    if (host.front() == '[') return literal_ip(where, host);
    if (auto ip = net::Address::parse_ip(host)) return *ip;
    bool numeric = std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_';
    });
    if (numeric || !name_chars || host.size() > 253) {
        throw ConfigError(where + ": " + quote(host) + " is neither an IP address nor a host name; use " + kAddrHelp +
                          ", or a DNS name");
    }

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* result = nullptr;
    const std::string name(host);
    int rc = getaddrinfo(name.c_str(), nullptr, &hints, &result);
    if (rc != 0 || result == nullptr) {
        std::string reason = rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc);
        if (result != nullptr) freeaddrinfo(result);
        throw ConfigError(where + ": cannot resolve host " + quote(host) + ": " + reason);
    }
    net::Address address = net::Address::from_sockaddr(result->ai_addr, result->ai_addrlen);
    freeaddrinfo(result);
    if (address.empty()) throw ConfigError(where + ": host " + quote(host) + " resolved to no IPv4 or IPv6 address");
    return address;
}

uint16_t parse_single_port(const std::string& where, std::string_view whole, std::string_view port_text,
                           const char* form, const char* example) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (!all_digits(port_text) || ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
        throw ConfigError(where + ": " + quote(port_text) + " in " + quote(whole) + " is not a port 1-65535; use " +
                          form + ", e.g. " + example);
    }
    return static_cast<uint16_t>(value);
}

PortSet parse_port_set_or_throw(const std::string& where, std::string_view whole, std::string_view ports) {
    auto set = parse_port_set(ports);
    if (!set) throw ConfigError(where + ": in " + quote(whole) + ", " + port_set_problem(ports) + "; " + kPortSetHelp);
    return *set;
}

class Validator {
public:
    Validator(unsigned role, const RawOptions& raw) : role_(role), raw_(raw) {}

    const RawValue* get(std::string_view name) const {
        auto it = raw_.find(name);
        return it == raw_.end() ? nullptr : &it->second;
    }

    const RawValue& required(std::string_view name) const {
        const RawValue* v = get(name);
        if (v == nullptr) {
            const Spec* spec = find_spec(name, role_);
            // Only the relays read a --config file.
            std::string where = (role_ & kRelays) == 0 ? std::string()
                                                       : " (on the command line or as \"" + std::string(name) +
                                                             "\" in the --config file)";
            throw ConfigError("--" + std::string(name) + ": missing; porthop " + role_name(role_) + " needs --" +
                              std::string(name) + " " + spec->value_name + where);
        }
        return *v;
    }

    std::optional<Duration> duration(std::string_view name) const {
        const RawValue* v = get(name);
        if (v == nullptr) return std::nullopt;
        auto d = parse_duration(v->text);
        if (!d) {
            throw ConfigError(label(name, *v) + ": " + quote(v->text) +
                              " is not a duration; use a whole number and a unit (ms, s, m, h), e.g. 250ms, 10s, 2m");
        }
        return d;
    }

    std::optional<Duration> positive_duration(std::string_view name) const {
        auto d = duration(name);
        if (d && d->count() == 0) {
            throw ConfigError(label(name, *get(name)) + ": must be longer than 0; use e.g. 250ms, 10s or 2m");
        }
        return d;
    }

    // A whole number in [min, max]; `range` describes the allowed values.
    std::optional<uint64_t> count(std::string_view name, uint64_t min, uint64_t max, const std::string& range) const {
        const RawValue* v = get(name);
        if (v == nullptr) return std::nullopt;
        uint64_t value = 0;
        auto [end, ec] = std::from_chars(v->text.data(), v->text.data() + v->text.size(), value);
        bool number = all_digits(v->text) && end == v->text.data() + v->text.size();
        if (!number) throw ConfigError(label(name, *v) + ": " + quote(v->text) + " is not a whole number; use " + range);
        if (ec != std::errc{} || value < min || value > max) {
            throw ConfigError(label(name, *v) + ": " + v->text + " is out of range; use " + range);
        }
        return value;
    }

    std::optional<uint32_t> buffer_size(std::string_view name) const {
        constexpr uint64_t kMin = 4096;
        constexpr uint64_t kMax = 1u << 30;
        const std::string range = "0 (system default) or 4096 to 1073741824 bytes";
        auto value = count(name, 0, kMax, range);
        if (value && *value != 0 && *value < kMin) {
            throw ConfigError(label(name, *get(name)) + ": " + std::to_string(*value) + " is out of range; use " + range);
        }
        if (!value) return std::nullopt;
        return static_cast<uint32_t>(*value);
    }

    bool flag(std::string_view name) const {
        const RawValue* v = get(name);
        return v != nullptr && v->text == "true";
    }

    // ADDR:PORT, an IP literal.
    std::optional<net::Address> addr_port(std::string_view name, const char* example) const {
        const RawValue* v = get(name);
        if (v == nullptr) return std::nullopt;
        const std::string where = label(name, *v);
        auto [host, port_text] = split_host(where, v->text, "ADDR:PORT", example);
        net::Address ip = literal_ip(where, host);
        return ip.with_port(parse_single_port(where, v->text, port_text, "ADDR:PORT", example));
    }

    // HOST:PORT, HOST resolved now.
    net::Address host_port(std::string_view name, const char* example) const {
        const RawValue& v = required(name);
        const std::string where = label(name, v);
        auto [host, port_text] = split_host(where, v.text, "HOST:PORT", example);
        uint16_t port = parse_single_port(where, v.text, port_text, "HOST:PORT", example);
        return resolve_host(where, host).with_port(port);
    }

    // ADDR:PORTSET or HOST:PORTSET; the address keeps port 0.
    std::pair<net::Address, PortSet> host_port_set(std::string_view name, bool allow_dns, const char* example) const {
        const RawValue& v = required(name);
        const std::string where = label(name, v);
        const char* form = allow_dns ? "HOST:PORTSET" : "ADDR:PORTSET";
        auto [host, ports] = split_host(where, v.text, form, example);
        PortSet set = parse_port_set_or_throw(where, v.text, ports);
        net::Address ip = allow_dns ? resolve_host(where, host) : literal_ip(where, host);
        return {ip, std::move(set)};
    }

    template <typename T>
    std::optional<T> choice(std::string_view name, std::initializer_list<std::pair<const char*, T>> choices) const {
        const RawValue* v = get(name);
        if (v == nullptr) return std::nullopt;
        std::string names;
        for (const auto& [text, value] : choices) {
            if (v->text == text) return value;
            if (!names.empty()) names += ", ";
            names += text;
        }
        throw ConfigError(label(name, *v) + ": " + quote(v->text) + " is not one of " + names + "; use one of them");
    }

    std::optional<const char*> log_level() const {
        return choice<const char*>("log-level", {{"trace", "trace"},
                                                 {"debug", "debug"},
                                                 {"info", "info"},
                                                 {"warn", "warn"},
                                                 {"error", "error"},
                                                 {"critical", "critical"},
                                                 {"off", "off"}});
    }

private:
    unsigned role_;
    const RawOptions& raw_;
};

Options validate(unsigned role, const RawOptions& raw) {
    Validator v(role, raw);
    Options o;
    o.role = role == kClient ? Role::client : Role::server;

    // Missing options first, then every value, and DNS last: a typo in a flag
    // is reported without waiting for a resolver.
    (void)v.required("listen");
    (void)v.required(role == kClient ? "server" : "upstream");

    o.metrics = v.addr_port("metrics", "127.0.0.1:9100");
    if (auto d = v.positive_duration("idle-timeout")) o.idle_timeout = *d;
    if (auto m = v.choice<Mode>("mode", {{"plain", Mode::plain}, {"session", Mode::session}})) o.mode = *m;
    if (const RawValue* p = v.get("psk-file")) {
        if (p->text.empty()) throw ConfigError(label("psk-file", *p) + ": the path is empty; give the key file's path");
        o.psk_file = p->text;
    }
    if (auto level = v.log_level()) o.log_level = *level;
    if (auto n = v.count("max-sessions", 1, 1'000'000, "1 to 1000000")) o.max_sessions = static_cast<uint32_t>(*n);
    if (auto n = v.count("new-session-rate", 0, 1'000'000, "0 to 1000000")) o.new_session_rate = static_cast<uint32_t>(*n);
    if (auto n = v.count("mtu", 576, 65535, "576 to 65535")) o.mtu = static_cast<uint32_t>(*n);
    if (auto n = v.buffer_size("sndbuf")) o.sndbuf = *n;
    if (auto n = v.buffer_size("rcvbuf")) o.rcvbuf = *n;
    o.offload = !v.flag("no-offload");
    if (const RawValue* c = v.get("config")) o.config_file = c->text;

    if (role == kClient) {
        if (auto d = v.positive_duration("hop-interval")) o.hop_interval = *d;
        o.hop_jitter = o.hop_interval / 5;
        if (auto d = v.duration("hop-jitter")) {
            if (*d >= o.hop_interval) {
                throw ConfigError(label("hop-jitter", *v.get("hop-jitter")) + ": " + format_duration(*d) +
                                  (*d == o.hop_interval ? " equals" : " is longer than") + " --hop-interval (" +
                                  format_duration(o.hop_interval) + "); use a jitter below the interval");
            }
            o.hop_jitter = *d;
        }
        if (auto n = v.count("hop-bytes", 0, UINT64_MAX, "a number of bytes, or 0 to turn it off")) o.hop_bytes = *n;
        if (auto d = v.duration("hop-on-stall")) o.hop_on_stall = *d;
        o.hop_on_slowdown = v.flag("hop-on-slowdown");
        if (auto d = v.duration("hop-grace")) o.hop_grace = *d;
    }

    if (o.mode == Mode::session && o.psk_file.empty()) {
        const RawValue* m = v.get("mode");
        throw ConfigError(label("mode", *m) +
                          ": session mode needs a pre-shared key; give --psk-file PATH (make a key with porthop genkey)");
    }

    if (role == kClient) {
        o.listen = *v.addr_port("listen", "127.0.0.1:4433");
        std::tie(o.server_ip, o.server_ports) = v.host_port_set("server", true, "vps.example.com:20000-20999");
    } else {
        std::tie(o.listen_ip, o.listen_ports) = v.host_port_set("listen", false, "0.0.0.0:20000-20999");
        o.upstream = v.host_port("upstream", "127.0.0.1:443");
        if (const RawValue* f = v.get("state-file")) {
            if (f->text.empty()) throw ConfigError(label("state-file", *f) + ": empty path; give a file such as /var/lib/porthop/server.state");
            o.state_file = f->text;
        }
    }
    return o;
}

ProbeOptions validate_probe(const RawOptions& raw) {
    Validator v(kProbe, raw);
    ProbeOptions o;
    (void)v.required("server");
    const RawValue& psk = v.required("psk-file");
    if (psk.text.empty()) throw ConfigError("--psk-file: the path is empty; give the key file's path");
    o.psk_file = psk.text;
    if (auto d = v.duration("duration")) {
        if (*d < Duration(5'000) || *d > Duration(3'600'000)) {
            throw ConfigError("--duration: " + format_duration(*d) + " is out of range; use 5s to 1h, e.g. 60s");
        }
        o.duration = *d;
    }
    if (const RawValue* r = v.get("rate")) {
        auto rate = parse_rate(r->text);
        if (!rate) {
            throw ConfigError("--rate: " + quote(r->text) +
                              " is not a rate; use a whole number and a unit: kbit, mbit, kB or MB (a second), e.g. 8mbit");
        }
        if (*rate < 12'500 || *rate > 12'500'000) {
            throw ConfigError("--rate: " + r->text + " is out of range; use 100kbit to 100mbit");
        }
        o.rate = static_cast<uint32_t>(*rate);
    }
    o.json = v.flag("json");
    if (auto level = v.log_level()) o.log_level = *level;
    std::tie(o.server_ip, o.server_ports) = v.host_port_set("server", true, "vps.example.com:20000-20999");
    return o;
}

StatusOptions validate_status(const RawOptions& raw) {
    Validator v(kStatus, raw);
    StatusOptions o;
    (void)v.required("metrics");
    o.metrics = *v.addr_port("metrics", "127.0.0.1:9101");
    o.json = v.flag("json");
    return o;
}

// ---------------------------------------------------------------------------
// The command line.

struct Subcommand {
    CLI::App* app;
    unsigned role;
    std::vector<std::pair<const Spec*, CLI::Option*>> options;
};

constexpr const char* kFooter =
    "DURATION: a whole number and a unit: 250ms, 10s, 2m, 1h.\n"
    "PORTSET: a range or a comma list of ports and ranges: 20000-20999, 20000-20099,20500.\n"
    "ADDR: an IP address, IPv6 in brackets: 10.0.0.1, [::1], 0.0.0.0, [::]. HOST: an ADDR or a DNS name.\n"
    "Invalid input exits with status 2.";

std::string command_of(const CLI::App& app) {
    auto subs = app.get_subcommands();
    return subs.empty() ? "porthop" : "porthop " + subs.front()->get_name();
}

// The first argument CLI11 could not place, as a one-line error.
[[noreturn]] void reject_extra(const std::string& command, unsigned role, const std::string& arg) {
    if (arg.size() > 1 && arg.front() == '-') {
        std::string raw_name = arg.substr(0, arg.find('='));
        size_t first = raw_name.find_first_not_of('-');
        std::string bare = first == std::string::npos ? std::string() : raw_name.substr(first);
        // Quoted when it holds anything unprintable, so the message stays one line.
        bool plain = std::all_of(raw_name.begin(), raw_name.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
        std::string name = plain ? raw_name : quote(raw_name);
        if (role != 0) {
            if (const char* owner = other_role_owning(bare, role)) {
                throw ConfigError(name + ": is a " + owner + " option; " + command + " does not take it");
            }
        } else if (command == "porthop" && find_spec(bare, kRelays) != nullptr) {
            throw ConfigError(name + ": options go after the command, e.g. porthop client " + name + " ...");
        }
        throw ConfigError(name + ": unknown option for " + command + "; see " + command + " --help");
    }
    if (role == 0 && command == "porthop") {
        throw ConfigError(quote(arg) + ": unknown command; use porthop client, porthop server, porthop probe, porthop status or porthop genkey");
    }
    throw ConfigError(quote(arg) + ": unexpected argument for " + command + "; see " + command + " --help");
}

}  // namespace

Command parse_command_line(int argc, const char* const* argv) {
    CLI::App app{"porthop: UDP relays that spread one long UDP flow (QUIC) over many short ones.", "porthop"};
    app.allow_extras();
    app.footer(kFooter);
    bool version = false;
    app.add_flag("--version", version, "Print the version and exit");

    std::vector<Subcommand> relays;
    for (auto [role, name, description] :
         {std::tuple{kClient, "client", "Run the client relay: one downstream socket, sessions hop over the server's ports"},
          std::tuple{kServer, "server", "Run the server relay: listen on every port of the set, relay to the upstream"},
          std::tuple{kProbe, "probe",
                     "Measure whether the path to a server relay (session mode) throttles long UDP flows, "
                     "and recommend --hop-interval / --hop-bytes"},
          std::tuple{kStatus, "status",
                     "Show a running relay's sessions (asks its --metrics endpoint): ports, bytes, rates, hops"}}) {
        Subcommand sub{app.add_subcommand(name, description), role, {}};
        sub.app->allow_extras();
        sub.app->footer(kFooter);
        for (const Spec& spec : kSpecs) {
            if ((spec.roles & role) == 0) continue;
            const std::string flag = std::string("--") + spec.name;
            CLI::Option* opt = spec.kind == Kind::flag ? sub.app->add_flag(flag, spec.help)
                                                       : sub.app->add_option(flag, spec.help)->type_name(spec.value_name);
            // Repeats are reported below, in our words, rather than by CLI11.
            opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
            sub.options.emplace_back(&spec, opt);
        }
        relays.push_back(std::move(sub));
    }
    CLI::App* genkey = app.add_subcommand("genkey", "Print a new session-mode key and exit");
    genkey->allow_extras();

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForAllHelp&) {
        return Help{app.help("", CLI::AppFormatMode::All)};
    } catch (const CLI::CallForHelp&) {
        return Help{app.help()};
    } catch (const CLI::ParseError& e) {
        const std::string command = command_of(app);
        throw ConfigError(one_line(e.what()) + "; see " + command + " --help");
    }

    if (!app.remaining().empty()) reject_extra("porthop", 0, app.remaining().front());
    if (version) return Version{std::string("porthop ") + PORTHOP_VERSION};
    if (genkey->parsed()) {
        if (!genkey->remaining().empty()) reject_extra("porthop genkey", 0, genkey->remaining().front());
        return GenKey{};
    }
    for (const Subcommand& sub : relays) {
        if (!sub.app->parsed()) continue;
        const std::string command = std::string("porthop ") + sub.app->get_name();
        if (!sub.app->remaining().empty()) reject_extra(command, sub.role, sub.app->remaining().front());

        RawOptions raw;
        for (const auto& [spec, opt] : sub.options) {
            if (opt->count() == 0) continue;
            if (opt->count() > 1 && spec->kind != Kind::flag) {
                throw ConfigError(std::string("--") + spec->name + ": given " + std::to_string(opt->count()) +
                                  " times; give it once");
            }
            std::string text;
            if (spec->kind == Kind::flag) {
                // "--hop-on-slowdown=false" is allowed; "=maybe" is not.
                bool on = false;
                try {
                    on = opt->as<bool>();
                } catch (const CLI::Error&) {
                    throw ConfigError(std::string("--") + spec->name + ": " + quote(opt->results().back()) +
                                      " is not true or false; give the flag alone to turn it on");
                }
                text = on ? "true" : "false";
            } else {
                text = opt->as<std::string>();
            }
            raw[spec->name] = RawValue{std::move(text), ""};
        }
        if (sub.role == kProbe) return RunProbe{validate_probe(raw)};
        if (sub.role == kStatus) return ShowStatus{validate_status(raw)};
        if (auto it = raw.find("config"); it != raw.end()) load_config_file(it->second.text, sub.role, raw);
        return RunRelay{validate(sub.role, raw)};
    }
    throw ConfigError(
        "no command given; use porthop client, porthop server, porthop probe, porthop status or porthop genkey (see porthop --help)");
}

}  // namespace porthop::config
