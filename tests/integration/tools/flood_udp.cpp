// flood_udp: a flood of random UDP datagrams from many spoofed-looking
// sources, for the flood tests (tests/integration/test_flood_*.sh).
//
//   flood_udp --dst IP --ports LO-HI --src-net A.B.C.D/LEN [--count N]
//             [--min-size B] [--max-size B] [--rate PPS] [--seed S]
//             [--src-port P]
//
// Each datagram goes to a random port of LO-HI on IP, from a random address
// of the source network and a random port 1024-65535 (so nearly every
// datagram has a distinct source), with a random size in [min, max] (default
// 0..65507, the largest UDP payload over IPv4) of random bytes. Sources need
// not exist: each datagram is sent from a fresh IP_TRANSPARENT socket bound
// to its source (root / CAP_NET_ADMIN), so the kernel routes and fragments it
// like any other. --rate paces the sends (0: as fast as possible).
// --src-port fixes the source port (with a /32 network: one source, one
// session, e.g. to overrun one socket's send queue). Prints
// one line: sent, failed, distinct sources, bytes, seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "flood_udp: %s\nusage: flood_udp --dst IP --ports LO-HI --src-net A.B.C.D/LEN [--count N] "
                 "[--min-size B] [--max-size B] [--rate PPS] [--seed S] [--src-port P]\n",
                 why);
    std::exit(2);
}

unsigned long number(const char* text, const char* what) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') usage(what);
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    in_addr dst{};
    bool have_dst = false;
    unsigned port_lo = 0, port_hi = 0;
    uint32_t net = 0, mask = 0;
    bool have_net = false;
    unsigned long count = 100000, min_size = 0, max_size = 65507, rate = 0, seed = 0, src_port = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--dst") {
            have_dst = inet_pton(AF_INET, value(), &dst) == 1;
            if (!have_dst) usage("--dst: not an IPv4 address");
        } else if (a == "--ports") {
            std::string v = value();
            auto dash = v.find('-');
            port_lo = static_cast<unsigned>(number(v.substr(0, dash).c_str(), "--ports"));
            port_hi = dash == std::string::npos ? port_lo
                                                : static_cast<unsigned>(number(v.substr(dash + 1).c_str(), "--ports"));
            if (port_lo == 0 || port_hi > 65535 || port_lo > port_hi) usage("--ports: LO-HI within 1-65535");
        } else if (a == "--src-net") {
            std::string v = value();
            auto slash = v.find('/');
            if (slash == std::string::npos) usage("--src-net: A.B.C.D/LEN");
            in_addr n{};
            if (inet_pton(AF_INET, v.substr(0, slash).c_str(), &n) != 1) usage("--src-net: A.B.C.D/LEN");
            unsigned len = static_cast<unsigned>(number(v.substr(slash + 1).c_str(), "--src-net"));
            if (len > 32) usage("--src-net: LEN 0-32");
            mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
            net = ntohl(n.s_addr) & mask;
            have_net = true;
        } else if (a == "--count") {
            count = number(value(), "--count");
        } else if (a == "--min-size") {
            min_size = number(value(), "--min-size");
        } else if (a == "--max-size") {
            max_size = number(value(), "--max-size");
        } else if (a == "--rate") {
            rate = number(value(), "--rate");
        } else if (a == "--src-port") {
            src_port = number(value(), "--src-port");
            if (src_port == 0 || src_port > 65535) usage("--src-port: 1-65535");
        } else if (a == "--seed") {
            seed = number(value(), "--seed");
        } else {
            usage(("unknown argument " + a).c_str());
        }
    }
    if (!have_dst || port_lo == 0 || !have_net) usage("--dst, --ports and --src-net are required");
    if (max_size > 65507 || min_size > max_size) usage("sizes: 0 <= min <= max <= 65507");

    std::mt19937_64 rng(seed != 0 ? seed : std::random_device{}());
    std::vector<unsigned char> payload(65507);
    for (auto& b : payload) b = static_cast<unsigned char>(rng());

    unsigned long sent = 0, failed = 0, bytes = 0;
    int last_errno = 0;
    std::unordered_set<uint64_t> sources;
    sources.reserve(count * 2);
    const auto t0 = std::chrono::steady_clock::now();
    for (unsigned long k = 0; k < count; ++k) {
        if (rate != 0) {
            auto due = t0 + std::chrono::microseconds(k * 1'000'000 / rate);
            if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
        }
        uint32_t host = static_cast<uint32_t>(rng()) & ~mask;
        if (mask != ~uint32_t{0} && (host == 0 || host == (~mask))) host = 1;  // not the network or broadcast address
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(net | host);
        src.sin_port = htons(static_cast<uint16_t>(src_port != 0 ? src_port : 1024 + rng() % (65536 - 1024)));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr = dst;
        to.sin_port = htons(static_cast<uint16_t>(port_lo + rng() % (port_hi - port_lo + 1)));
        size_t size = min_size + rng() % (max_size - min_size + 1);
        // Vary the payload's start cheaply so that datagrams differ.
        size_t offset = size < payload.size() ? rng() % (payload.size() - size + 1) : 0;

        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            std::perror("flood_udp: socket");
            return 1;
        }
        int one = 1;
        ::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one);
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0 &&
                  ::sendto(fd, payload.data() + offset, size, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0;
        if (ok) {
            ++sent;
            bytes += size;
            sources.insert((uint64_t{ntohl(src.sin_addr.s_addr)} << 16) | ntohs(src.sin_port));
        } else {
            ++failed;
            last_errno = errno;
        }
        ::close(fd);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("flood_udp: sent=%lu failed=%lu sources=%zu bytes=%lu seconds=%.2f%s%s\n", sent, failed, sources.size(),
                bytes, secs, failed ? " last_error=" : "", failed ? std::strerror(last_errno) : "");
    return sent > 0 ? 0 : 1;
}
