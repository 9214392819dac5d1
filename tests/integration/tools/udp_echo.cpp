// udp_echo: an upstream UDP echo server for the integration tests.
//
//   udp_echo --listen ADDR:PORT [--idle-exit SECONDS]
//
// Binds ADDR:PORT (IPv4 "10.0.0.1:7000" or IPv6 "[fd00::1]:7000") and sends
// every datagram back, unchanged, to the address it came from. Exits 0 on
// SIGTERM/SIGINT, or after SECONDS without a datagram when --idle-exit is given.
// Prints how many datagrams it echoed when it exits.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "net/address.hpp"

using porthop::net::Address;

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "udp_echo: %s\nusage: udp_echo --listen ADDR:PORT [--idle-exit SECONDS]\n", why);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    Address listen;
    double idle_exit = 0;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
            return argv[++i];
        };
        if (arg == "--listen") {
            auto a = Address::parse_ip_port(value());
            if (!a) usage("bad --listen address");
            listen = *a;
        } else if (arg == "--idle-exit") {
            idle_exit = std::atof(value().c_str());
        } else {
            usage(("unknown argument " + arg).c_str());
        }
    }
    if (listen.empty()) usage("--listen is required");

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    int fd = socket(listen.family(), SOCK_DGRAM, 0);
    if (fd < 0) {
        std::perror("udp_echo: socket");
        return 1;
    }
    int one = 1;
    if (listen.is_v6()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
    if (bind(fd, listen.sockaddr_ptr(), listen.length()) != 0) {
        std::fprintf(stderr, "udp_echo: bind %s: %s\n", listen.to_string().c_str(), std::strerror(errno));
        return 1;
    }
    std::fprintf(stderr, "udp_echo: listening on %s\n", listen.to_string().c_str());

    using clock = std::chrono::steady_clock;
    auto last = clock::now();
    unsigned long long echoed = 0;
    std::vector<char> data(65536);
    while (!g_stop) {
        pollfd p{fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) {
            std::perror("udp_echo: poll");
            return 1;
        }
        if (r <= 0) {
            if (idle_exit > 0 && std::chrono::duration<double>(clock::now() - last).count() >= idle_exit) {
                break;
            }
            continue;
        }
        // Drain everything that is queued before polling again.
        for (;;) {
            Address from;
            socklen_t len = Address::capacity();
            ssize_t n = recvfrom(fd, data.data(), data.size(), MSG_DONTWAIT, from.sockaddr_ptr(), &len);
            if (n < 0) break;
            if (sendto(fd, data.data(), static_cast<size_t>(n), 0, from.sockaddr_ptr(), len) == n) ++echoed;
            last = clock::now();
        }
    }
    std::fprintf(stderr, "udp_echo: echoed %llu datagrams\n", echoed);
    close(fd);
    return 0;
}
