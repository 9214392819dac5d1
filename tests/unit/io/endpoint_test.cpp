// The endpoint's send path against a peer that stops reading: a Unix
// datagram socketpair returns EAGAIN once the peer's queue is full, which a
// UDP socket on loopback almost never does.

#include "io/endpoint.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "net/offload.hpp"

using namespace porthop;

namespace {

struct StalledPeer {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry metrics;
    net::QueueBudget budget{1 << 20};
    io::EndpointContext ctx{*base, metrics, budget, 16 * 1024};
    int peer_fd = -1;
    std::unique_ptr<io::Endpoint> endpoint;
    std::vector<std::byte> payload = std::vector<std::byte>(1000, std::byte{1});

    StalledPeer() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) != 0) throw std::runtime_error("socketpair");
        peer_fd = fds[1];
        endpoint =
            std::make_unique<io::Endpoint>(ctx, net::UdpSocket::adopt(fds[0]), metrics::Direction::upstream, [] {});
    }
    ~StalledPeer() {
        endpoint.reset();
        ::close(peer_fd);
    }
    void transmit(size_t n) {
        std::vector<net::OutDatagram> out(n, net::OutDatagram{payload.data(), 1000, nullptr, 0, nullptr, 0});
        endpoint->transmit(out);
    }
    size_t drain_peer() {
        size_t n = 0;
        std::byte buf[2048];
        while (::recv(peer_fd, buf, sizeof buf, MSG_DONTWAIT) > 0) ++n;
        return n;
    }
    uint64_t sent() const { return metrics.get(metrics::Family::packets, metrics::Direction::upstream); }
    uint64_t queue_full() const { return metrics.get(metrics::Family::dropped, metrics::DropReason::queue_full); }
    int armed_events() const { return event_base_get_num_events(base.get(), EVENT_BASE_COUNT_ADDED); }
};

}  // namespace

TEST(Endpoint, QueuesWhatTheKernelRefusesAndDropsPastTheBound) {
    StalledPeer p;
    p.transmit(200);
    size_t queued = p.endpoint->queued_bytes() / 1000;
    EXPECT_GT(p.sent(), 0u);
    EXPECT_GT(queued, 0u);
    EXPECT_LE(p.endpoint->queued_bytes(), 16u * 1024);
    EXPECT_GT(p.queue_full(), 0u);
    EXPECT_EQ(p.sent() + queued + p.queue_full(), 200u);
    EXPECT_EQ(p.metrics.get(metrics::Family::send_queue_bytes), p.endpoint->queued_bytes());
}

TEST(Endpoint, DrainsTheQueueOnceWritableThenDisarmsTheWriteEvent) {
    StalledPeer p;
    p.transmit(200);
    uint64_t accepted = p.sent() + p.endpoint->queued_bytes() / 1000;
    EXPECT_EQ(p.armed_events(), 2);  // read + write
    size_t received = 0;
    for (int i = 0; i < 1000 && p.endpoint->queued_bytes() != 0; ++i) {
        received += p.drain_peer();
        event_base_loop(p.base.get(), EVLOOP_NONBLOCK);
    }
    received += p.drain_peer();
    EXPECT_EQ(p.endpoint->queued_bytes(), 0u);
    EXPECT_EQ(received, accepted);
    EXPECT_EQ(p.sent(), accepted);
    EXPECT_EQ(p.metrics.get(metrics::Family::send_queue_bytes), 0u);
    EXPECT_EQ(p.armed_events(), 1);  // the write event is gone: no spinning on a writable socket
    EXPECT_EQ(p.budget.used(), 0u);
}

TEST(Endpoint, NewDatagramsWaitBehindQueuedOnes) {
    StalledPeer p;
    p.transmit(200);
    ASSERT_GT(p.endpoint->queued_bytes(), 0u);
    p.drain_peer();  // the kernel has room now, but the queue is not empty
    uint64_t sent_before = p.sent();
    p.transmit(1);
    EXPECT_EQ(p.sent(), sent_before);  // queued behind, not sent ahead
}

TEST(Endpoint, CountsWhatTheKernelDroppedForAFullReceiveBufferWhenAsked) {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry metrics;
    net::QueueBudget budget{1 << 20};
    io::EndpointContext ctx{*base, metrics, budget, 16 * 1024};
    auto rx = net::UdpSocket::open(AF_INET);
    rx.set_buffer_sizes(0, 4096);  // the kernel's minimum: a few datagrams
    rx.bind(*net::Address::parse_ip("127.0.0.1", 0));
    auto tx = net::UdpSocket::open(AF_INET);
    tx.connect(rx.local_address());
    io::Endpoint endpoint(ctx, std::move(rx), metrics::Direction::upstream, [] {});
    auto overflows = [&] { return metrics.get(metrics::Family::dropped, metrics::DropReason::rcvbuf_overflow); };

    std::vector<std::byte> payload(1000, std::byte{7});
    for (int i = 0; i < 100; ++i) ::send(tx.fd(), payload.data(), payload.size(), 0);
    net::RecvBatch batch;
    EXPECT_GT(endpoint.receive(batch).count, 0u);
    EXPECT_EQ(overflows(), 0u);  // not on the datagram path
    io::count_kernel_drops(ctx);
    uint32_t dropped = endpoint.socket().kernel_drops();
    EXPECT_GT(dropped, 0u);
    EXPECT_EQ(overflows(), dropped);

    io::count_kernel_drops(ctx);  // nothing received since: nothing new
    EXPECT_EQ(overflows(), dropped);
    for (int i = 0; i < 100; ++i) ::send(tx.fd(), payload.data(), payload.size(), 0);
    while (endpoint.receive(batch).count != 0) {}
    io::count_kernel_drops(ctx);
    EXPECT_GT(overflows(), dropped);
    EXPECT_EQ(overflows(), endpoint.socket().kernel_drops());
}

TEST(Endpoint, TurnsGsoOnWhenTheRelayUsesOffloadAndOffWhenNot) {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry metrics;
    net::QueueBudget budget{1 << 20};
    io::EndpointContext with{*base, metrics, budget, 16 * 1024, true};
    io::EndpointContext without{*base, metrics, budget, 16 * 1024, false};
    io::Endpoint a(with, net::UdpSocket::open(AF_INET), metrics::Direction::upstream, [] {});
    io::Endpoint b(without, net::UdpSocket::open(AF_INET), metrics::Direction::upstream, [] {});
    if (!net::gso_supported(b.socket())) GTEST_SKIP() << "this kernel has no UDP_SEGMENT";
    EXPECT_TRUE(a.socket().gso());
    EXPECT_FALSE(b.socket().gso());
}
