#pragma once
// One HTTP/1.1 GET over a plain TCP socket, for `porthop status`: bounded in
// time (one deadline for connecting, sending and receiving) and in size (the
// response is cut off, with an error, past max_bytes). Blocking, no event
// loop: the command asks once and exits.

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/address.hpp"

namespace porthop::status {

struct HttpGetError : std::runtime_error {
    enum class Kind {
        unreachable,  // nothing listens there (refused), or no route
        timeout,      // no complete answer before the deadline
        protocol,     // an answer, but not one HTTP response within max_bytes
    };
    HttpGetError(Kind k, const std::string& message) : std::runtime_error(message), kind(k) {}
    Kind kind;
};

struct HttpGetResponse {
    int status = 0;
    std::string body;
};

// GET `target` ("/sessions?limit=5") from `server`; throws HttpGetError,
// whose what() is one line naming the server and what went wrong.
HttpGetResponse http_get(const net::Address& server, std::string_view target, std::chrono::milliseconds deadline,
                         size_t max_bytes);

}  // namespace porthop::status
