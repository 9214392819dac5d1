#pragma once
// An IPv4 or IPv6 UDP endpoint, stored as a sockaddr so that the hot path can
// hand it to the kernel without conversion.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace porthop::net {

class Address {
public:
    Address() = default;

    // Parses a literal: "10.0.0.1", "::1", "[::1]" (no port).
    static std::optional<Address> parse_ip(std::string_view text, uint16_t port = 0);
    // Parses "10.0.0.1:20000" or "[::1]:20000"; port must be 1..65535.
    static std::optional<Address> parse_ip_port(std::string_view text);
    // Copies what the kernel reported; returns an empty Address for an
    // unknown family.
    static Address from_sockaddr(const sockaddr* sa, socklen_t len);

    bool empty() const { return storage_.any.sa_family == AF_UNSPEC; }
    int family() const { return storage_.any.sa_family; }
    bool is_v6() const { return family() == AF_INET6; }
    uint16_t port() const;
    void set_port(uint16_t port);
    Address with_port(uint16_t port) const {
        Address a = *this;
        a.set_port(port);
        return a;
    }
    // 0.0.0.0 or [::]: the socket receives on every local address.
    bool is_wildcard() const;
    // True when the IPs are equal, whatever the ports.
    bool same_ip(const Address& other) const;

    const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    sockaddr* sockaddr_ptr() { return reinterpret_cast<sockaddr*>(&storage_); }
    socklen_t length() const;
    static constexpr socklen_t capacity() { return sizeof(Storage); }

    // "10.0.0.1:20000" or "[::1]:20000".
    std::string to_string() const;
    // "10.0.0.1" or "::1".
    std::string ip_string() const;

    bool operator==(const Address& other) const;
    size_t hash() const;
    size_t ip_hash() const;  // of the IP alone

private:
    // Room for the largest address a UDP socket reports (IPv6: 28 bytes),
    // not sockaddr_storage's 128: an Address sits in every session, every
    // path and every slot of a batch. The family is the first member of
    // each (their common initial sequence); v6 first so that {} zeroes all.
    union Storage {
        sockaddr_in6 v6;
        sockaddr_in v4;
        sockaddr any;
    };
    Storage storage_{};
};

struct AddressHash {
    size_t operator()(const Address& a) const { return a.hash(); }
};

}  // namespace porthop::net
