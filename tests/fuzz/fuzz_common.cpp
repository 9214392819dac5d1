#include "fuzz_common.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

// The configuration parser resolves host names with getaddrinfo. A fuzzer
// must not wait for a resolver (or reach the network): this definition
// replaces libc's (and the sanitizer's interceptor) in every fuzz target.
// Every name fails as an unknown host would; IP literals never get here.
extern "C" int getaddrinfo(const char*, const char*, const struct addrinfo*, struct addrinfo** res) {
    if (res != nullptr) *res = nullptr;
    return EAI_NONAME;
}

namespace porthop_fuzz {

void setup() {
    auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::trace);
    // "--config /dev/stdin" must not block the fuzzer.
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::close(null);
    }
}

}  // namespace porthop_fuzz
