// Value parsers shared by the command line and the JSON config file:
// durations, rates and the names of roles and modes (ports: net/ports.hpp).
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "config/parse.hpp"
#include "net/ports.hpp"

namespace porthop::config {

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

std::optional<PortSet> parse_port_set(std::string_view text) { return net::parse_port_set(text).set; }

}  // namespace porthop::config
