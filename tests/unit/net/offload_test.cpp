// GSO on send and GRO on receive (src/net/offload.hpp), and the fallbacks
// when a socket cannot have them. Over loopback a GSO send stays one
// buffer until the receiving socket: split there for a socket without GRO,
// kept whole (with its segment size) for one with GRO.

#include "net/offload.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <stdexcept>
#include <vector>

#include "loopback_pair.hpp"
#include "net/batch_io.hpp"

using namespace porthop::net;

using porthop::net::testing::LoopbackPair;

namespace {

std::vector<std::byte> pattern(size_t n, int seed) { return porthop::net::testing::payload(n, seed * 31); }

// n datagrams of `size` bytes each (the last `last` bytes when given).
struct Datagrams {
    std::vector<std::vector<std::byte>> payloads;
    std::vector<OutDatagram> out;
    Datagrams(size_t n, size_t size, size_t last = 0, const Address* to = nullptr) {
        for (size_t i = 0; i < n; ++i) payloads.push_back(pattern(i + 1 == n && last ? last : size, int(i)));
        for (auto& p : payloads) out.push_back(OutDatagram::make(p, to));
    }
};

// Everything the socket holds now, as separate payloads (a coalesced
// receive cut at its segment size).
std::vector<std::vector<std::byte>> drain(const UdpSocket& s, RecvBatch& batch, size_t* messages = nullptr) {
    std::vector<std::vector<std::byte>> got;
    for (;;) {
        auto r = batch.receive(s);
        if (r.count == 0) break;
        if (messages) *messages += r.count;
        for (size_t i = 0; i < r.count; ++i) {
            auto p = batch.payload(i);
            size_t seg = batch.segment_size(i) ? batch.segment_size(i) : p.size();
            for (size_t off = 0; off < p.size(); off += seg) {
                size_t len = std::min(seg, p.size() - off);
                got.emplace_back(p.begin() + off, p.begin() + off + len);
            }
        }
    }
    return got;
}

// The kernel features a test needs; such a test is skipped (and says why)
// on a kernel without them: the fallbacks have their own tests.
bool kernel_has_gso() {
    UdpSocket s = UdpSocket::open(AF_INET);
    return gso_supported(s);
}
bool kernel_has_gro() {
    UdpSocket s = UdpSocket::open(AF_INET);
    return kernel_has_gso() && enable_gro(s);
}
#define REQUIRE_GSO() \
    if (!kernel_has_gso()) GTEST_SKIP() << "this kernel has no UDP_SEGMENT"
#define REQUIRE_GRO() \
    if (!kernel_has_gro()) GTEST_SKIP() << "this kernel has no UDP_GRO"

UdpSocket unix_datagram_end(int& peer) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) != 0) throw std::runtime_error("socketpair");
    peer = fds[1];
    return UdpSocket::adopt(fds[0]);
}

}  // namespace

TEST(GsoRun, TakesSameSizeDatagramsToOneDestination) {
    Datagrams d(10, 100);
    EXPECT_EQ(gso_run(d.out), 10u);
}

TEST(GsoRun, EndsBeforeADifferentDestination) {
    auto a = *Address::parse_ip_port("10.0.0.1:1000");
    auto b = *Address::parse_ip_port("10.0.0.1:1001");
    Datagrams d(6, 100, 0, &a);
    d.out[4].to = b.sockaddr_ptr();
    EXPECT_EQ(gso_run(d.out), 4u);
}

TEST(GsoRun, ComparesDestinationsByValue) {
    auto a = *Address::parse_ip_port("10.0.0.1:1000");
    auto a2 = a;
    Datagrams d(3, 100, 0, &a);
    d.out[1].to = a2.sockaddr_ptr();
    EXPECT_EQ(gso_run(d.out), 3u);
}

TEST(GsoRun, EndsBeforeADifferentSourceAddress) {
    auto x = *Address::parse_ip("10.0.0.2");
    Datagrams d(4, 100);
    d.out[2].from = x.sockaddr_ptr();
    EXPECT_EQ(gso_run(d.out), 2u);
}

TEST(GsoRun, EndsBeforeALargerDatagram) {
    Datagrams d(5, 100);
    d.out[3].size = 101;
    EXPECT_EQ(gso_run(d.out), 3u);
}

TEST(GsoRun, EndsWithAShorterDatagram) {
    Datagrams d(5, 100);
    d.out[2].size = 60;
    EXPECT_EQ(gso_run(d.out), 3u);
}

TEST(GsoRun, StopsAtTheSegmentLimit) {
    Datagrams d(kMaxSegments + 5, 10);
    EXPECT_EQ(gso_run(d.out), kMaxSegments);
}

TEST(GsoRun, StopsAtOneDatagramsWorthOfBytes) {
    Datagrams d(64, 1400);
    EXPECT_EQ(gso_run(d.out), kMaxGsoBytes / 1400);
}

TEST(GsoRun, LeavesACoalescedDatagramAlone) {
    Datagrams d(3, 100);
    d.out[0].segment = 50;
    EXPECT_EQ(gso_run(d.out), 1u);
    d.out[0].segment = 0;
    d.out[1].segment = 50;
    EXPECT_EQ(gso_run(d.out), 1u);
}

TEST(SendBatchGso, ARunArrivesAsSeparateDatagramsInOrder) {
    REQUIRE_GSO();
    LoopbackPair pair;
    pair.tx.set_gso(true);
    Datagrams d(20, 300, 120);
    SendResult r = send_batch(pair.tx, d.out);
    EXPECT_EQ(r.sent, 20u);
    EXPECT_EQ(r.consumed, 20u);
    EXPECT_EQ(r.sent_bytes, 19u * 300 + 120);
    EXPECT_TRUE(pair.tx.gso());
    RecvBatch batch;
    EXPECT_EQ(drain(pair.rx, batch), d.payloads);
}

TEST(SendBatchGso, AReceiverWithGroGetsTheRunInOneBufferWithItsSegmentSize) {
    REQUIRE_GRO();
    LoopbackPair pair;
    pair.tx.set_gso(true);
    ASSERT_TRUE(enable_gro(pair.rx));
    Datagrams d(8, 200, 50);
    ASSERT_EQ(send_batch(pair.tx, d.out).sent, 8u);
    RecvBatch batch;
    auto r = batch.receive(pair.rx);
    ASSERT_EQ(r.count, 1u);
    EXPECT_EQ(batch.payload(0).size(), 7u * 200 + 50);
    EXPECT_EQ(batch.segment_size(0), 200u);
    EXPECT_EQ(batch.datagrams(0), 8u);
}

TEST(RecvBatchGro, TheLastDatagramOfACoalescedReceiveIsItsFinalSegmentAlone) {
    REQUIRE_GRO();
    LoopbackPair pair;
    pair.tx.set_gso(true);
    ASSERT_TRUE(enable_gro(pair.rx));
    Datagrams d(4, 120, 70);
    ASSERT_EQ(send_batch(pair.tx, d.out).sent, 4u);
    RecvBatch batch;
    ASSERT_EQ(batch.receive(pair.rx).count, 1u);
    ASSERT_EQ(batch.datagrams(0), 4u);
    auto last = batch.last_datagram(0);
    EXPECT_EQ(std::vector<std::byte>(last.begin(), last.end()), d.payloads.back());
}

TEST(RecvBatchGro, TheLastDatagramOfAPlainReceiveIsTheWholeDatagram) {
    LoopbackPair pair;
    Datagrams d(1, 90);
    ASSERT_EQ(send_batch(pair.tx, d.out).sent, 1u);
    RecvBatch batch;
    ASSERT_EQ(batch.receive(pair.rx).count, 1u);
    auto last = batch.last_datagram(0);
    EXPECT_EQ(std::vector<std::byte>(last.begin(), last.end()), d.payloads.front());
}

TEST(SendBatchGso, ACoalescedDatagramLeavesAsItCame) {
    // Received coalesced on one socket, sent on through another with GSO:
    // the next receiver without GRO sees the original datagrams.
    REQUIRE_GRO();
    LoopbackPair in;
    LoopbackPair out;
    in.tx.set_gso(true);
    ASSERT_TRUE(enable_gro(in.rx));
    Datagrams d(5, 100, 30);
    ASSERT_EQ(send_batch(in.tx, d.out).sent, 5u);
    RecvBatch batch;
    ASSERT_EQ(batch.receive(in.rx).count, 1u);
    out.tx.set_gso(true);
    OutDatagram coalesced = batch.out(0, nullptr);
    EXPECT_EQ(coalesced.segment, 100u);
    SendResult r = send_batch(out.tx, std::span(&coalesced, 1));
    EXPECT_EQ(r.sent, 5u);
    EXPECT_EQ(r.consumed, 1u);
    RecvBatch batch2;
    EXPECT_EQ(drain(out.rx, batch2), d.payloads);
}

TEST(SendBatchGso, TurnsGsoOffForASocketTheKernelRefusesItOnAndSendsEveryDatagram) {
    // SO_NO_CHECK (no UDP checksum) makes the kernel refuse GSO sends with
    // EINVAL, as a device without checksum offload refuses them with EIO.
    REQUIRE_GSO();
    LoopbackPair pair;
    int on = 1;
    ASSERT_EQ(::setsockopt(pair.tx.fd(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof on), 0);
    pair.tx.set_gso(true);
    Datagrams d(12, 100);
    SendResult r = send_batch(pair.tx, d.out);
    EXPECT_EQ(r.sent, 12u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_FALSE(pair.tx.gso());
    RecvBatch batch;
    size_t messages = 0;
    EXPECT_EQ(drain(pair.rx, batch, &messages), d.payloads);
    EXPECT_EQ(messages, 12u);
}

TEST(SendBatchGso, ACoalescedDatagramIsCutIntoItsSegmentsWhereGsoIsMissing) {
    int peer_fd;
    UdpSocket tx = unix_datagram_end(peer_fd);
    UdpSocket rx = UdpSocket::adopt(peer_fd);
    EXPECT_FALSE(enable_offload(tx, true));
    EXPECT_FALSE(tx.gso());
    auto buf = pattern(250, 7);
    OutDatagram d = OutDatagram::make(buf, nullptr);
    d.segment = 100;
    SendResult r = send_batch(tx, std::span(&d, 1));
    EXPECT_EQ(r.sent, 3u);
    EXPECT_EQ(r.consumed, 1u);
    RecvBatch batch;
    auto got = drain(rx, batch);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].size(), 100u);
    EXPECT_EQ(got[2].size(), 50u);
    EXPECT_TRUE(std::equal(got[1].begin(), got[1].end(), buf.begin() + 100));
}

TEST(EnableOffload, TurnsOnGsoAndGroForAUdpSocketOfThisKernel) {
    REQUIRE_GRO();
    UdpSocket s = UdpSocket::open(AF_INET);
    EXPECT_TRUE(enable_offload(s, true));
    EXPECT_TRUE(s.gso());
}

TEST(EnableOffload, LeavesGroOffWhenNotAsked) {
    REQUIRE_GSO();
    UdpSocket s = UdpSocket::open(AF_INET);
    EXPECT_FALSE(enable_offload(s, false));
    EXPECT_TRUE(s.gso());
}
