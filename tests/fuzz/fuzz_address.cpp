// ADDR: net::Address::parse_ip_port and parse_ip (first byte chooses), and
// what the relays rely on: a parsed address is IPv4 or IPv6, its text form
// parses back to the same address, and its port is the one given.
#include <cstdint>
#include <string_view>

#include "fuzz_common.hpp"
#include "net/address.hpp"

using namespace porthop;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) return 0;
    uint16_t port = static_cast<uint16_t>(data[1] | (data[2] << 8));
    std::string_view text(reinterpret_cast<const char*>(data + 3), size - 3);
    std::optional<net::Address> a =
        (data[0] & 1) ? net::Address::parse_ip_port(text) : net::Address::parse_ip(text, port);
    if (!a) return 0;
    FUZZ_CHECK(a->family() == AF_INET || a->family() == AF_INET6);
    FUZZ_CHECK(!a->empty());
    FUZZ_CHECK(a->length() > 0 && a->length() <= net::Address::capacity());
    if (data[0] & 1) {
        FUZZ_CHECK(a->port() != 0);
    } else {
        FUZZ_CHECK(a->port() == port);
    }
    auto again = net::Address::parse_ip_port(a->with_port(a->port() ? a->port() : 1).to_string());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->same_ip(*a));
    FUZZ_CHECK(net::Address::parse_ip(a->ip_string()).has_value());
    FUZZ_CHECK(net::Address::parse_ip(a->ip_string())->same_ip(*a));
    FUZZ_CHECK(a->hash() == net::Address(*a).hash());
    FUZZ_CHECK(*a == a->with_port(a->port()));
    return 0;
}
