// udp_send_from: send a few datagrams from a chosen source to a target, e.g.
// to inject a foreign datagram into a relay.
//
//   udp_send_from --from ADDR:PORT --to ADDR:PORT [--count N] [--interval-ms MS]
//                 [--payload TEXT] [--size BYTES]
//
// --from may use port 0 (any). The payload is TEXT (default
// "porthop-foreign-datagram"), repeated or cut to --size bytes when given.
// Prints the source it used and how many datagrams it sent; exits 0 when all
// were sent.

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "net/address.hpp"

using porthop::net::Address;

namespace {

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "udp_send_from: %s\nusage: udp_send_from --from ADDR:PORT --to ADDR:PORT [--count N] "
                 "[--interval-ms MS] [--payload TEXT] [--size BYTES]\n",
                 why);
    std::exit(2);
}

Address parse_endpoint(const std::string& text, const char* what) {
    if (auto a = Address::parse_ip_port(text)) return *a;
    // Port 0 is refused by parse_ip_port; accept "ADDR:0" for "any port".
    if (text.size() > 2 && text.compare(text.size() - 2, 2, ":0") == 0) {
        if (auto a = Address::parse_ip(text.substr(0, text.size() - 2), 0)) return *a;
    }
    usage((std::string("bad ") + what + " address: " + text).c_str());
}

}  // namespace

int main(int argc, char** argv) {
    Address from, to;
    long count = 1, interval_ms = 0, size = -1;
    std::string payload = "porthop-foreign-datagram";
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
            return argv[++i];
        };
        if (arg == "--from")
            from = parse_endpoint(value(), "--from");
        else if (arg == "--to")
            to = parse_endpoint(value(), "--to");
        else if (arg == "--count")
            count = std::atol(value().c_str());
        else if (arg == "--interval-ms")
            interval_ms = std::atol(value().c_str());
        else if (arg == "--payload")
            payload = value();
        else if (arg == "--size")
            size = std::atol(value().c_str());
        else
            usage(("unknown argument " + arg).c_str());
    }
    if (from.empty() || to.empty()) usage("--from and --to are required");
    if (from.family() != to.family()) usage("--from and --to must be the same address family");
    if (payload.empty()) usage("--payload must not be empty");
    if (size >= 0) {
        std::string p;
        while (static_cast<long>(p.size()) < size) p += payload;
        p.resize(static_cast<size_t>(size));
        payload = p;
    }

    int fd = socket(from.family(), SOCK_DGRAM, 0);
    if (fd < 0) {
        std::perror("udp_send_from: socket");
        return 1;
    }
    int one = 1;
    if (from.is_v6()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, from.sockaddr_ptr(), from.length()) != 0) {
        std::fprintf(stderr, "udp_send_from: bind %s: %s\n", from.to_string().c_str(), std::strerror(errno));
        return 1;
    }
    Address local;
    socklen_t len = Address::capacity();
    getsockname(fd, local.sockaddr_ptr(), &len);
    local = Address::from_sockaddr(local.sockaddr_ptr(), len);

    long sent = 0;
    for (long n = 0; n < count; ++n) {
        if (n > 0 && interval_ms > 0) {
            timespec ts{interval_ms / 1000, (interval_ms % 1000) * 1000000L};
            nanosleep(&ts, nullptr);
        }
        if (sendto(fd, payload.data(), payload.size(), 0, to.sockaddr_ptr(), to.length()) ==
            static_cast<ssize_t>(payload.size())) {
            ++sent;
        } else {
            std::fprintf(stderr, "udp_send_from: sendto %s: %s\n", to.to_string().c_str(), std::strerror(errno));
        }
    }
    std::printf("udp_send_from: sent %ld/%ld datagrams of %zu bytes from %s to %s\n", sent, count, payload.size(),
                local.to_string().c_str(), to.to_string().c_str());
    close(fd);
    return sent == count ? 0 : 1;
}
