#pragma once
// Reading one option's raw text (raw_options.hpp) as a typed value, with the
// one-line error that names the option and the fix. The option table's rows
// (option_table.cpp) read their values through it.

#include <charconv>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/messages.hpp"
#include "config/option_table.hpp"
#include "config/options.hpp"
#include "config/parse.hpp"
#include "config/raw_options.hpp"
#include "net/address.hpp"

namespace porthop::config {

// The pieces of ADDR:PORT, HOST:PORT and *:PORTSET; each throws ConfigError
// naming `where` (the option's label).
struct HostAndRest {
    std::string_view host;
    std::string_view rest;  // after the last ':'
};
HostAndRest split_host(const std::string& where, std::string_view text, const char* form, const char* example);
// An IP literal ("10.0.0.1", "[::1]").
net::Address literal_ip(const std::string& where, std::string_view host);
// An IP literal or a DNS name, resolved now (the first answer wins).
net::Address resolve_host(const std::string& where, std::string_view host);
uint16_t parse_single_port(const std::string& where, std::string_view whole, std::string_view port_text,
                           const char* form, const char* example);
PortSet parse_port_set_or_throw(const std::string& where, std::string_view whole, std::string_view ports);
bool all_digits(std::string_view text);

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
            std::string where = (role_ & kRelays) == 0
                                    ? std::string()
                                    : " (on the command line or as \"" + std::string(name) + "\" in the --config file)";
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
        if (!number)
            throw ConfigError(label(name, *v) + ": " + quote(v->text) + " is not a whole number; use " + range);
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
            throw ConfigError(label(name, *get(name)) + ": " + std::to_string(*value) + " is out of range; use " +
                              range);
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

}  // namespace porthop::config
