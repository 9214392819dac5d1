// The steering programs, run by the kernel: a reuseport group of one socket
// per worker on loopback, datagrams from many sources (or with many session
// ids), each must arrive on the socket worker_for_* predicts, on every port.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "net/reuseport_steering.hpp"
#include "net/udp_socket.hpp"

namespace porthop::net {
namespace {

// n sockets bound to `ip`:port in order (index i = socket i), the program
// attached; port 0 picks one.
struct Group {
    std::vector<UdpSocket> sockets;
    uint16_t port = 0;

    Group(const char* ip, uint32_t n, const SteeringProgram& program, uint16_t want_port = 0) {
        for (uint32_t i = 0; i < n; ++i) {
            auto address = *Address::parse_ip(ip, i == 0 ? want_port : port);
            UdpSocket s = UdpSocket::open(address.family());
            enable_reuseport(s.fd());
            s.bind(address);
            if (i == 0) port = s.local_address().port();
            sockets.push_back(std::move(s));
        }
        EXPECT_EQ(attach_steering(sockets[0].fd(), program), 0);
    }

    // Index of the socket that holds the next datagram; -1 if none within 1 s.
    int receiver() {
        std::vector<pollfd> fds;
        for (auto& s : sockets) fds.push_back(pollfd{s.fd(), POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 1000) <= 0) return -1;
        for (size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents & POLLIN) {
                std::array<char, 2048> buf;
                (void)::recv(fds[i].fd, buf.data(), buf.size(), 0);
                return static_cast<int>(i);
            }
        }
        return -1;
    }
};

void send_from(const Address& from, const Address& to, const std::vector<uint8_t>& payload) {
    UdpSocket s = UdpSocket::open(from.family());
    s.bind(from);
    ASSERT_EQ(::sendto(s.fd(), payload.data(), payload.size(), 0, to.sockaddr_ptr(), to.length()),
              static_cast<ssize_t>(payload.size()));
}

std::vector<uint8_t> session_datagram(uint8_t version, uint64_t id) {
    std::vector<uint8_t> d(40, 0);
    d[0] = version;
    for (int i = 0; i < 8; ++i) d[1 + i] = static_cast<uint8_t>(id >> (56 - 8 * i));
    return d;
}

TEST(ReuseportSteering, PlainSendsEachSourceIpToThePredictedSocketOnEveryPort) {
    for (uint32_t workers : {2u, 3u}) {
        auto program = steer_by_source_ip(workers);
        Group a("127.0.0.1", workers, program);
        Group b("127.0.0.1", workers, program);
        std::vector<int> seen(workers, 0);
        for (int host = 2; host < 66; ++host) {
            auto source = *Address::parse_ip("127.0.0." + std::to_string(host), 0);
            int expected = static_cast<int>(worker_for_ip(source, workers));
            for (Group* g : {&a, &b}) {
                // Two source ports: a hop of the destination port and a new
                // source port still land on the same worker.
                for (int k = 0; k < 2; ++k) {
                    send_from(source, Address::parse_ip("127.0.0.1", g->port)->with_port(g->port), {1, 2, 3});
                    EXPECT_EQ(g->receiver(), expected) << source.to_string() << " port " << g->port;
                }
            }
            ++seen[expected];
        }
        for (uint32_t w = 0; w < workers; ++w) EXPECT_GT(seen[w], 64 / int(workers) / 2) << "worker " << w;
    }
}

TEST(ReuseportSteering, PlainSteersIpv4OnADualStackSocketAndIpv6BySourceAddress) {
    constexpr uint32_t kWorkers = 2;
    Group g("::", kWorkers, steer_by_source_ip(kWorkers));
    for (int host = 2; host < 20; ++host) {
        std::string ip = "127.0.0." + std::to_string(host);
        send_from(*Address::parse_ip(ip, 0), *Address::parse_ip("127.0.0.1", g.port), {7});
        EXPECT_EQ(g.receiver(), int(worker_for_ip(*Address::parse_ip("::ffff:" + ip, 0), kWorkers))) << ip;
    }
    send_from(*Address::parse_ip("::1", 0), *Address::parse_ip("::1", g.port), {7});
    EXPECT_EQ(g.receiver(), int(worker_for_ip(*Address::parse_ip("::1", 0), kWorkers)));
}

TEST(ReuseportSteering, SessionSendsEachIdToThePredictedSocketFromAnySource) {
    constexpr uint32_t kWorkers = 2;
    auto program = steer_by_payload_id(kWorkers, 0x7d, 1, 1);
    Group a("127.0.0.1", kWorkers, program);
    Group b("127.0.0.1", kWorkers, program);
    std::vector<int> seen(kWorkers, 0);
    uint64_t id = 0x0123456789abcdefULL;
    for (int i = 0; i < 64; ++i) {
        id = id * 6364136223846793005ULL + 1442695040888963407ULL;
        int expected = static_cast<int>(worker_for_id(id, kWorkers));
        // Source-port hops and a NAT rebinding (another source IP).
        for (const char* source : {"127.0.0.2", "127.0.0.3", "127.0.0.77"}) {
            for (Group* g : {&a, &b}) {
                send_from(*Address::parse_ip(source, 0), *Address::parse_ip("127.0.0.1", g->port),
                          session_datagram(1, id));
                EXPECT_EQ(g->receiver(), expected) << std::hex << id << " from " << source;
            }
        }
        ++seen[expected];
    }
    EXPECT_GT(seen[0], 16);
    EXPECT_GT(seen[1], 16);
}

TEST(ReuseportSteering, SessionSendsEveryVersionTheMaskAdmitsByItsId) {
    constexpr uint32_t kWorkers = 2;
    Group g("127.0.0.1", kWorkers, steer_by_payload_id(kWorkers, 0x7d, 1, 1));
    auto to = *Address::parse_ip("127.0.0.1", g.port);
    uint64_t id = 0x0123456789abcdefULL;
    for (int i = 0; i < 32; ++i) {
        id = id * 6364136223846793005ULL + 1442695040888963407ULL;
        int expected = static_cast<int>(worker_for_id(id, kWorkers));
        for (uint8_t version : {0x01, 0x03, 0x81, 0x83}) {
            send_from(*Address::parse_ip("127.0.0.2", 0), to, session_datagram(version, id));
            EXPECT_EQ(g.receiver(), expected) << std::hex << id << " version " << int(version);
        }
    }
}

TEST(ReuseportSteering, SessionSendsOtherVersionsAndShortDatagramsToTheFirstSocket) {
    constexpr uint32_t kWorkers = 2;
    Group g("127.0.0.1", kWorkers, steer_by_payload_id(kWorkers, 0x7d, 1, 1));
    auto to = *Address::parse_ip("127.0.0.1", g.port);
    for (int host = 2; host < 34; ++host) {
        auto from = *Address::parse_ip("127.0.0." + std::to_string(host), 0);
        uint64_t id = 0x1111111111111111ULL * uint64_t(host);
        send_from(from, to, session_datagram(2, id));  // a probe datagram
        EXPECT_EQ(g.receiver(), 0);
        send_from(from, to, {1, 2, 3});  // version 1, too short for an id
        EXPECT_EQ(g.receiver(), 0);
    }
}

TEST(ReuseportSteering, TheKernelTakesBothPrograms) {
    for (const auto& program : {steer_by_source_ip(4), steer_by_payload_id(4, 0x7d, 1, 1)}) {
        UdpSocket s = UdpSocket::open(AF_INET);
        enable_reuseport(s.fd());
        EXPECT_EQ(attach_steering(s.fd(), program), 0);
    }
}

}  // namespace
}  // namespace porthop::net
