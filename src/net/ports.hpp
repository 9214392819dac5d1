#pragma once
// UDP port numbers and port sets as a user writes them: "20000", and
// "20000-20999" or "20000-20099,20500". The one parser of both; addresses
// (net/address.hpp) and the command line (config/) use it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace porthop::net {

// One port: digits only, 1..65535 ("+1", " 1", "0x10" and "0" are not ports).
std::optional<uint16_t> parse_port(std::string_view text);

// A sorted set of distinct UDP ports.
struct PortSet {
    std::vector<uint16_t> ports;  // sorted ascending, no duplicates, never empty once parsed
    bool contains(uint16_t port) const;
    size_t size() const { return ports.size(); }
    std::string to_string() const;  // canonical form, ranges folded: "20000-20099,20500"
};

// Why a port set was refused; `item` is the part of the text at fault.
struct PortSetError {
    enum class Reason {
        empty,           // ""
        empty_item,      // ",1", "1,", "1,,2" (item: the whole text)
        bad_port,        // an item that is not a port 1-65535
        bad_range,       // "a-b" where a or b is not a port
        reversed_range,  // "20-10"
    };
    Reason reason;
    std::string_view item;
};

// Exactly one of set and error is present.
struct PortSetParse {
    std::optional<PortSet> set;
    std::optional<PortSetError> error;
};
PortSetParse parse_port_set(std::string_view text);

}  // namespace porthop::net
