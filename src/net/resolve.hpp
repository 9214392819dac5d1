#pragma once
// Resolving a host name (the VPS's name in --server or --upstream) once, at
// start: the relays never resolve on the datapath.

#include <string>
#include <string_view>
#include <variant>

#include "net/address.hpp"

namespace porthop::net {

// Why a name gave no address: the resolver's own words ("Name or service
// not known"), or empty when it answered with no IPv4 or IPv6 address.
struct ResolveError {
    std::string reason;
};

// The first IPv4 or IPv6 answer for `name` (port 0). Blocks on the system
// resolver.
std::variant<Address, ResolveError> resolve_host(std::string_view name);

}  // namespace porthop::net
