// Value parsers shared by the command line and the JSON config file:
// durations, port sets and the names of roles and modes.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "config/parse.hpp"

namespace porthop::config {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One port "20000": digits only, 1..65535.
std::optional<uint16_t> parse_port_number(std::string_view text) {
    if (!all_digits(text)) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

}  // namespace

const char* to_string(Role role) {
    switch (role) {
        case Role::client: return "client";
        case Role::server: return "server";
    }
    return "unknown";
}

const char* to_string(Mode mode) {
    switch (mode) {
        case Mode::plain: return "plain";
        case Mode::session: return "session";
    }
    return "unknown";
}

std::optional<uint64_t> parse_rate(std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    uint64_t number = 0;
    std::from_chars(text.data(), text.data() + digits, number);
    std::string_view unit = text.substr(digits);
    // bits a second are divided by 8 at the end
    static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
        {"", 8}, {"B", 8}, {"kB", 8'000}, {"MB", 8'000'000}, {"kbit", 1'000}, {"mbit", 1'000'000}, {"Mbit", 1'000'000}};
    for (const auto& [name, bits] : kUnits) {
        if (unit == name) {
            uint64_t bytes = number * bits / 8;
            if (bytes == 0) return std::nullopt;
            return bytes;
        }
    }
    return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;  // "", "s", "-1s", "+1s", ".5s"
    std::string_view number = text.substr(0, digits);
    std::string_view unit = text.substr(digits);

    int64_t per_unit = 0;  // milliseconds
    if (unit == "ms") {
        per_unit = 1;
    } else if (unit == "s") {
        per_unit = 1'000;
    } else if (unit == "m") {
        per_unit = 60'000;
    } else if (unit == "h") {
        per_unit = 3'600'000;
    } else {
        return std::nullopt;  // no unit, "1.5s", "10 s", "10sec"
    }

    int64_t value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || end != number.data() + number.size()) return std::nullopt;
    if (value > std::numeric_limits<Duration::rep>::max() / per_unit) return std::nullopt;
    return Duration{value * per_unit};
}

std::optional<PortSet> parse_port_set(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::vector<uint16_t> ports;
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        if (item.empty()) return std::nullopt;  // ",1", "1,", "1,,2"

        size_t dash = item.find('-');
        uint16_t first = 0;
        uint16_t last = 0;
        if (dash == std::string_view::npos) {
            auto port = parse_port_number(item);
            if (!port) return std::nullopt;
            first = last = *port;
        } else {
            auto lo = parse_port_number(item.substr(0, dash));
            auto hi = parse_port_number(item.substr(dash + 1));  // a second '-' fails here
            if (!lo || !hi || *lo > *hi) return std::nullopt;
            first = *lo;
            last = *hi;
        }
        for (uint32_t p = first; p <= last; ++p) ports.push_back(static_cast<uint16_t>(p));

        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    PortSet set;
    set.ports = std::move(ports);
    return set;
}

bool PortSet::contains(uint16_t port) const { return std::binary_search(ports.begin(), ports.end(), port); }

std::string PortSet::to_string() const {
    std::string out;
    size_t i = 0;
    while (i < ports.size()) {
        size_t j = i;
        while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(ports[i]);
        if (j > i) {
            out += '-';
            out += std::to_string(ports[j]);
        }
        i = j + 1;
    }
    return out;
}

}  // namespace porthop::config
