// Validation: raw option text -> Options. Missing options are reported
// first, then every value, and DNS last: a typo in a flag is reported without
// waiting for a resolver.
#include "config/validate.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <tuple>
#include <utility>
#include <variant>

#include "config/messages.hpp"
#include "config/option_table.hpp"
#include "config/parse.hpp"
#include "net/ports.hpp"
#include "net/resolve.hpp"

namespace porthop::config {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Why a port set is invalid, for the message.
std::string port_set_problem(std::string_view text, const net::PortSetError& error) {
    using Reason = net::PortSetError::Reason;
    switch (error.reason) {
        case Reason::empty: return "the port set is empty";
        case Reason::empty_item: return "the port set " + quote(text) + " has an empty item between commas";
        case Reason::bad_port: return quote(error.item) + " is not a port 1-65535";
        case Reason::bad_range: return quote(error.item) + " is not a range of ports 1-65535";
        case Reason::reversed_range: return "the range " + quote(error.item) + " is reversed";
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

    auto resolved = net::resolve_host(host);
    if (auto* error = std::get_if<net::ResolveError>(&resolved)) {
        if (error->reason.empty()) {
            throw ConfigError(where + ": host " + quote(host) + " resolved to no IPv4 or IPv6 address");
        }
        throw ConfigError(where + ": cannot resolve host " + quote(host) + ": " + error->reason);
    }
    return std::get<net::Address>(resolved);
}

uint16_t parse_single_port(const std::string& where, std::string_view whole, std::string_view port_text,
                           const char* form, const char* example) {
    auto port = net::parse_port(port_text);
    if (!port) {
        throw ConfigError(where + ": " + quote(port_text) + " in " + quote(whole) + " is not a port 1-65535; use " +
                          form + ", e.g. " + example);
    }
    return *port;
}

PortSet parse_port_set_or_throw(const std::string& where, std::string_view whole, std::string_view ports) {
    auto parsed = net::parse_port_set(ports);
    if (!parsed.set) {
        throw ConfigError(where + ": in " + quote(whole) + ", " + port_set_problem(ports, *parsed.error) + "; " +
                          kPortSetHelp);
    }
    return std::move(*parsed.set);
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
            std::string where = role_ == kProbe ? std::string()
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

}  // namespace

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

}  // namespace porthop::config
