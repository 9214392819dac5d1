#pragma once
// Shared by the bench programs (loadgen, sink, refwd): the datagram header
// that the generator writes and the sink reads, address parsing, clocks and a
// tiny option parser. No dependency on porthop's sources: the bench measures
// porthop from the outside, like any other relay.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace bench {

inline constexpr uint32_t kMagic = 0x70686231;  // "phb1"

// At the start of every payload; the rest of the payload is zero padding.
struct Header {
    uint32_t magic;
    uint32_t run;    // the sink counts one run at a time (newer run resets)
    uint64_t seq;    // global sequence of the generator, from 0
    uint64_t t_ns;   // CLOCK_REALTIME at send (compared with SO_TIMESTAMPNS)
    uint32_t flow;   // source socket index of the generator
    uint32_t flags;  // kEchoMe: the sink sends the datagram back
};
inline constexpr uint32_t kEchoMe = 1;
static_assert(sizeof(Header) == 32);

inline uint64_t now_ns(clockid_t c = CLOCK_MONOTONIC) {
    timespec ts;
    clock_gettime(c, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

[[noreturn]] inline void usage_error(const std::string& msg) {
    std::fprintf(stderr, "%s\n", msg.c_str());
    std::exit(2);
}

// "10.0.0.1:9000" (IPv4 only: the bench topology is IPv4).
inline sockaddr_in parse_addr(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) usage_error("bad address (want IP:PORT): " + text);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(std::atoi(text.c_str() + colon + 1)));
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &a.sin_addr) != 1) usage_error("bad IPv4 address: " + text);
    return a;
}

// --name value options; flags given in `flags` take no value.
struct Args {
    std::map<std::string, std::string> v;
    Args(int argc, char** argv, std::initializer_list<const char*> flags) {
        for (int i = 1; i < argc; ++i) {
            std::string k = argv[i];
            if (k.rfind("--", 0) != 0) usage_error("unexpected argument: " + k);
            k = k.substr(2);
            bool is_flag = false;
            for (auto f : flags) is_flag |= (k == f);
            if (is_flag) {
                v[k] = "1";
            } else {
                if (i + 1 >= argc) usage_error("--" + k + " needs a value");
                v[k] = argv[++i];
            }
        }
    }
    bool has(const std::string& k) const { return v.count(k) != 0; }
    std::string str(const std::string& k, const std::string& def = "") const {
        auto it = v.find(k);
        return it == v.end() ? def : it->second;
    }
    double num(const std::string& k, double def) const {
        auto it = v.find(k);
        return it == v.end() ? def : std::atof(it->second.c_str());
    }
};

inline void raise_nofile() {
    rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

// Big kernel buffers, forced past rmem_max/wmem_max when we are root, as
// porthop does: a fair comparison gives every relay the same buffers.
inline void set_buffers(int fd, int bytes) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

}  // namespace bench
