// The server relay with --workers: sessions spread over the workers as the
// steering predicts, the state file's sessions go back to the worker the
// kernel will steer them to, and a refused steering program leaves one
// worker.

#include <gtest/gtest.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/address.hpp"
#include "net/reuseport_steering.hpp"
#include "net/udp_socket.hpp"
#include "relay/session_state_file.hpp"
#include "relay/workers.hpp"

namespace porthop::relay {
namespace {

using namespace std::chrono_literals;

struct WorkersHarness {
    loop::EventBasePtr base = loop::make_event_base();
    net::UdpSocket upstream = net::UdpSocket::open(AF_INET);
    config::Options options;
    std::unique_ptr<Workers> workers;

    explicit WorkersHarness(uint32_t count, std::string state_file = {}, AttachSteering attach = net::attach_steering) {
        auto lo = *net::Address::parse_ip("127.0.0.1", 0);
        upstream.bind(lo);
        options.role = config::Role::server;
        options.listen_ip = lo;
        options.upstream = upstream.local_address();
        options.workers = count;
        options.state_file = std::move(state_file);
        for (int attempt = 0; attempt < 20 && !workers; ++attempt) {
            uint16_t r = 0;
            getrandom(&r, sizeof r, 0);
            uint16_t first = static_cast<uint16_t>(30000 + r % 20000);
            options.listen_ports.ports = {first, static_cast<uint16_t>(first + 1), static_cast<uint16_t>(first + 2)};
            try {
                workers = std::make_unique<Workers>(*base, options, nullptr, attach);
            } catch (const net::NetError&) {}
        }
        if (!workers) throw std::runtime_error("no free ports for the server relay");
    }
    ~WorkersHarness() {
        if (workers) workers->shutdown();
    }

    uint64_t sessions_of(size_t worker) const { return workers->registries()[worker]->get(metrics::Family::sessions); }

    // Runs worker 0's loop (the test's thread) until `done` or 5 s.
    template <typename Done>
    bool run_until(Done done) {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < deadline) {
            event_base_loop(base.get(), EVLOOP_NONBLOCK);
            if (done()) return true;
            std::this_thread::sleep_for(1ms);
        }
        return false;
    }
};

void send(const net::UdpSocket& s, const net::Address& to) {
    char byte = 'x';
    ASSERT_EQ(::sendto(s.fd(), &byte, 1, 0, to.sockaddr_ptr(), to.length()), 1);
}

net::UdpSocket client(const std::string& ip) {
    auto s = net::UdpSocket::open(AF_INET);
    s.bind(*net::Address::parse_ip(ip, 0));
    return s;
}

TEST(ServerWorkers, PlainSessionsFromManyClientsLandOnThePredictedWorkerOnEveryPort) {
    WorkersHarness h(2);
    ASSERT_EQ(h.workers->count(), 2u);
    h.workers->start();
    std::vector<uint64_t> expected(2, 0);
    for (int host = 2; host < 42; ++host) {
        std::string ip = "127.0.0." + std::to_string(host);
        // One source, every port in turn: the session's hops reach the worker
        // that holds it, else another worker would open it a second time.
        auto s = client(ip);
        for (uint16_t port : h.options.listen_ports.ports) send(s, h.options.listen_ip.with_port(port));
        ++expected[net::worker_for_ip(*net::Address::parse_ip(ip, 0), 2)];
    }
    EXPECT_TRUE(h.run_until([&] { return h.sessions_of(0) + h.sessions_of(1) >= 40; }));
    EXPECT_EQ(h.sessions_of(0), expected[0]);
    EXPECT_EQ(h.sessions_of(1), expected[1]);
    EXPECT_GT(expected[0], 0u);
    EXPECT_GT(expected[1], 0u);
    EXPECT_TRUE(h.run_until([&] { return h.workers->sessions() == 40; }));
    EXPECT_EQ(h.workers->registries()[0]->get(metrics::Family::sessions_opened) +
                  h.workers->registries()[1]->get(metrics::Family::sessions_opened),
              40u);
}

TEST(ServerWorkers, SessionsReportListsTheSessionsOfEveryWorker) {
    WorkersHarness h(2);
    ASSERT_EQ(h.workers->count(), 2u);
    h.workers->start();
    std::vector<net::UdpSocket> clients;
    for (int host = 2; host < 22; ++host) {
        clients.push_back(client("127.0.0." + std::to_string(host)));
        send(clients.back(), h.options.listen_ip.with_port(h.options.listen_ports.ports[0]));
    }
    ASSERT_TRUE(h.run_until([&] { return h.workers->sessions() == 20; }));
    ASSERT_GT(h.sessions_of(1), 0u);  // some of them live on the other thread

    SessionsReport all = h.workers->report_sessions(100);
    EXPECT_EQ(all.open, 20u);
    EXPECT_EQ(all.sessions.size(), 20u);
    SessionsReport few = h.workers->report_sessions(5);
    EXPECT_EQ(few.open, 20u);
    EXPECT_EQ(few.sessions.size(), 5u);
}

TEST(ServerWorkers, RuntimeOptionsReachEveryWorkerOnItsOwnThread) {
    WorkersHarness h(2);
    h.workers->start();
    std::vector<net::UdpSocket> clients;
    for (int host = 2; host < 18; ++host) {
        clients.push_back(client("127.0.0." + std::to_string(host)));
        send(clients.back(), h.options.listen_ip.with_port(h.options.listen_ports.ports[0]));
    }
    ASSERT_TRUE(h.run_until([&] { return h.sessions_of(0) > 0 && h.sessions_of(1) > 0; }));
    // SIGHUP's path: a shorter idle timeout, applied by each worker's own
    // loop, closes every worker's idle sessions.
    config::Options reloaded = h.options;
    reloaded.idle_timeout = 100ms;
    EXPECT_TRUE(h.workers->apply_runtime_options(reloaded));
    EXPECT_TRUE(h.run_until([&] { return h.sessions_of(0) == 0 && h.sessions_of(1) == 0; }));
}

TEST(ServerWorkers, OneWorkerRunsWhenTheKernelRefusesTheSteeringProgram) {
    WorkersHarness h(2, {}, [](int, const net::SteeringProgram&) { return EPERM; });
    EXPECT_EQ(h.workers->count(), 1u);
    h.workers->start();
    send(client("127.0.0.9"), h.options.listen_ip.with_port(h.options.listen_ports.ports[0]));
    EXPECT_TRUE(h.run_until([&] { return h.sessions_of(0) == 1; }));
}

uint16_t free_port() {
    auto s = net::UdpSocket::open(AF_INET);
    s.bind(*net::Address::parse_ip("0.0.0.0", 0));
    return s.local_address().port();
}

TEST(ServerWorkers, RestoredSessionsReturnToTheWorkerTheKernelSteersThemTo) {
    char path[] = "/tmp/porthop-workers-state-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::vector<SavedSession> saved;
    std::vector<uint64_t> expected(2, 0);
    for (int host = 2; host < 22; ++host) {
        auto peer = *net::Address::parse_ip("127.0.0." + std::to_string(host), 40000);
        // The upstream port is bound again at restore: any free one.
        saved.push_back({peer, free_port(), 1, {}});
        ++expected[net::worker_for_ip(peer, 2)];
    }
    ASSERT_TRUE(write_state_file(path, StateFile{"server", "plain", 0, saved}));
    {
        WorkersHarness h(2, path);
        ASSERT_EQ(h.workers->count(), 2u);
        EXPECT_EQ(h.sessions_of(0), expected[0]);
        EXPECT_EQ(h.sessions_of(1), expected[1]);
        // Worker 0 saving first must keep worker 1's share in the file.
        h.workers->shutdown();
    }
    EXPECT_EQ(read_state_file(path, "server", "plain", std::chrono::seconds(60)).sessions.size(), saved.size());
    std::remove(path);
}

TEST(ServerWorkers, AutoIsOneWorkerPerUsableCpu) {
    config::Options o;
    o.role = config::Role::server;
    o.workers = 0;
    EXPECT_GE(resolve_workers(o), 1u);
    o.role = config::Role::client;
    EXPECT_EQ(resolve_workers(o), 1u);
}

}  // namespace
}  // namespace porthop::relay
