#include "net/address.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "net/ports.hpp"

namespace porthop::net {

namespace {

template <typename Storage>
const sockaddr_in& v4(const Storage& s) {
    return reinterpret_cast<const sockaddr_in&>(s);
}
template <typename Storage>
const sockaddr_in6& v6(const Storage& s) {
    return reinterpret_cast<const sockaddr_in6&>(s);
}

}  // namespace

std::optional<Address> Address::parse_ip(std::string_view text, uint16_t port) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
        if (text.find(':') == std::string_view::npos) return std::nullopt;  // "[1.2.3.4]"
    }
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';

    Address a;
    auto& s4 = reinterpret_cast<sockaddr_in&>(a.storage_);
    if (inet_pton(AF_INET, buf, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        s4.sin_port = htons(port);
        return a;
    }
    auto& s6 = reinterpret_cast<sockaddr_in6&>(a.storage_);
    if (inet_pton(AF_INET6, buf, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(port);
        return a;
    }
    return std::nullopt;
}

std::optional<Address> Address::parse_ip_port(std::string_view text) {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    // A bare IPv6 literal must be bracketed, or "::1:80" would be ambiguous.
    if (host.find(':') != std::string_view::npos && !(host.size() > 2 && host.front() == '[')) {
        return std::nullopt;
    }
    auto port = parse_port(text.substr(colon + 1));
    if (!port) return std::nullopt;
    return parse_ip(host, *port);
}

Address Address::from_sockaddr(const sockaddr* sa, socklen_t len) {
    Address a;
    if (sa == nullptr) return a;
    if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
    }
    return a;
}

uint16_t Address::port() const {
    switch (family()) {
        case AF_INET: return ntohs(v4(storage_).sin_port);
        case AF_INET6: return ntohs(v6(storage_).sin6_port);
        default: return 0;
    }
}

void Address::set_port(uint16_t port) {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in&>(storage_).sin_port = htons(port);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6&>(storage_).sin6_port = htons(port);
}

socklen_t Address::length() const {
    switch (family()) {
        case AF_INET: return sizeof(sockaddr_in);
        case AF_INET6: return sizeof(sockaddr_in6);
        default: return 0;
    }
}

bool Address::is_wildcard() const {
    if (family() == AF_INET) return v4(storage_).sin_addr.s_addr == htonl(INADDR_ANY);
    if (family() == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&v6(storage_).sin6_addr);
    return false;
}

bool Address::same_ip(const Address& other) const {
    if (family() != other.family()) return false;
    if (family() == AF_INET) return v4(storage_).sin_addr.s_addr == v4(other.storage_).sin_addr.s_addr;
    if (family() == AF_INET6) {
        return std::memcmp(&v6(storage_).sin6_addr, &v6(other.storage_).sin6_addr, sizeof(in6_addr)) == 0 &&
               v6(storage_).sin6_scope_id == v6(other.storage_).sin6_scope_id;
    }
    return true;
}

bool Address::operator==(const Address& other) const { return same_ip(other) && port() == other.port(); }

namespace {
// FNV-1a: cheap, no allocation, good enough spread for tables keyed by peers.
struct Fnv {
    uint64_t h = 1469598103934665603ull;
    void mix(const void* p, size_t n) {
        auto* b = static_cast<const unsigned char*>(p);
        for (size_t i = 0; i < n; ++i) {
            h ^= b[i];
            h *= 1099511628211ull;
        }
    }
};
}  // namespace

size_t Address::ip_hash() const {
    Fnv f;
    if (family() == AF_INET) f.mix(&v4(storage_).sin_addr, sizeof(in_addr));
    if (family() == AF_INET6) f.mix(&v6(storage_).sin6_addr, sizeof(in6_addr));
    return static_cast<size_t>(f.h);
}

size_t Address::hash() const {
    Fnv f;
    uint16_t p = port();
    f.mix(&p, sizeof p);
    if (family() == AF_INET) f.mix(&v4(storage_).sin_addr, sizeof(in_addr));
    if (family() == AF_INET6) f.mix(&v6(storage_).sin6_addr, sizeof(in6_addr));
    return static_cast<size_t>(f.h);
}

std::string Address::ip_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) inet_ntop(AF_INET, &v4(storage_).sin_addr, buf, sizeof buf);
    if (family() == AF_INET6) inet_ntop(AF_INET6, &v6(storage_).sin6_addr, buf, sizeof buf);
    return buf;
}

std::string Address::to_string() const {
    if (empty()) return "(none)";
    // Built with append: GCC 12 warns falsely (-Wrestrict) on chained
    // operator+ of temporaries.
    std::string out;
    out.reserve(INET6_ADDRSTRLEN + 8);
    if (is_v6()) out.append("[");
    out.append(ip_string());
    if (is_v6()) out.append("]");
    out.append(":");
    out.append(std::to_string(port()));
    return out;
}

}  // namespace porthop::net
