#include "net/ports.hpp"

#include <algorithm>
#include <charconv>

namespace porthop::net {

std::optional<uint16_t> parse_port(std::string_view text) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
    return static_cast<uint16_t>(value);
}

PortSetParse parse_port_set(std::string_view text) {
    using Reason = PortSetError::Reason;
    auto fail = [](Reason reason, std::string_view item) {
        return PortSetParse{std::nullopt, PortSetError{reason, item}};
    };
    if (text.empty()) return fail(Reason::empty, text);
    // Checked first, so "x,,1" is reported for its commas rather than for "x".
    if (text.front() == ',' || text.back() == ',' || text.find(",,") != std::string_view::npos) {
        return fail(Reason::empty_item, text);
    }

    std::vector<uint16_t> ports;
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        size_t dash = item.find('-');
        if (dash == std::string_view::npos) {
            auto port = parse_port(item);
            if (!port) return fail(Reason::bad_port, item);
            ports.push_back(*port);
        } else {
            auto lo = parse_port(item.substr(0, dash));
            auto hi = parse_port(item.substr(dash + 1));  // a second '-' fails here
            if (!lo || !hi) return fail(Reason::bad_range, item);
            if (*lo > *hi) return fail(Reason::reversed_range, item);
            for (uint32_t p = *lo; p <= *hi; ++p) ports.push_back(static_cast<uint16_t>(p));
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
    return PortSetParse{PortSet{std::move(ports)}, std::nullopt};
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

}  // namespace porthop::net
