#include "config/validator.hpp"

#include <algorithm>
#include <variant>

#include "net/ports.hpp"
#include "net/resolve.hpp"

namespace porthop::config {

namespace {

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

constexpr const char* kPortSetHelp =
    "give ports 1-65535 as a range or a comma list, e.g. 20000-20999 or 20000-20099,20500";
constexpr const char* kAddrHelp = "an IP address, IPv6 in brackets, e.g. 0.0.0.0 or [::]";

}  // namespace

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

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

net::Address literal_ip(const std::string& where, std::string_view host) {
    auto ip = net::Address::parse_ip(host);
    if (!ip || (host.front() != '[' && ip->is_v6())) {
        throw ConfigError(where + ": " + quote(host) + " is not an IP address; use " + kAddrHelp);
    }
    return *ip;
}

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

}  // namespace porthop::config
