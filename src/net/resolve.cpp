#include "net/resolve.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace porthop::net {

std::variant<Address, ResolveError> resolve_host(std::string_view name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* raw = nullptr;
    const std::string host(name);
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> result(raw, [](addrinfo* r) {
        if (r != nullptr) freeaddrinfo(r);
    });
    if (rc != 0 || result == nullptr) {
        return ResolveError{rc == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(rc)};
    }
    Address address = Address::from_sockaddr(result->ai_addr, result->ai_addrlen);
    if (address.empty()) return ResolveError{};
    return address;
}

}  // namespace porthop::net
