#include "relay/piece_sealer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "crypto/session_ciphers.hpp"
#include "crypto/session_crypto.hpp"
#include "metrics/registry.hpp"
#include "relay/reassembly.hpp"

namespace {

using namespace porthop;
using namespace porthop::relay;

// Keeps a copy of every datagram pushed (a flush hands them over, as an
// Outbox does).
struct Sink {
    std::vector<std::vector<std::byte>> sent;
    std::vector<net::OutDatagram> pending;
    size_t flushes = 0;
    void push(const net::OutDatagram& d) { pending.push_back(d); }
    void flush() {
        for (const auto& d : pending) sent.emplace_back(d.data, d.data + d.size);
        pending.clear();
        ++flushes;
    }
};

struct Lab {
    crypto::Key psk = [] {
        crypto::init();
        return crypto::generate_key();
    }();
    crypto::SessionCiphers tx{psk, crypto::Direction::upstream, false};
    crypto::SessionKeys keys;  // XChaCha20-Poly1305
    crypto::Cipher rx{psk, crypto::Direction::upstream};
    PieceSealer sealer{1500};
    Sink sink;
    uint64_t counter = 100;
    static constexpr uint8_t kVersion = crypto::kVersion | kPieceFlag;

    size_t seal(const std::vector<std::byte>& whole, size_t room = 1439) {
        return sealer.seal(tx, keys, 42, counter, whole, room, nullptr, nullptr, sink);
    }
};

std::vector<std::byte> datagram(size_t size) {
    std::vector<std::byte> d(size);
    for (size_t i = 0; i < size; ++i) d[i] = std::byte(static_cast<uint8_t>(i * 11 + 3));
    return d;
}

}  // namespace

TEST(PieceSealer, PiecesFitTheMtuCarryThePieceVersionAndOpenBackIntoTheDatagram) {
    Lab lab;
    auto whole = datagram(9000);
    EXPECT_EQ(lab.seal(whole), 7u);
    lab.sink.flush();
    ASSERT_EQ(lab.sink.sent.size(), 7u);
    EXPECT_EQ(lab.counter, 107u) << "one counter per piece";
    metrics::Registry metrics;
    Reassembly reassembly(metrics);
    std::span<std::byte> got;
    for (auto& piece : lab.sink.sent) {
        EXPECT_LE(piece.size(), 1500u - 28);
        auto h = crypto::parse_header(piece, Lab::kVersion);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->session_id, 42u);
        auto plain = lab.rx.open(piece, *h);
        ASSERT_TRUE(plain);
        got = reassembly.add(42, *plain, Clock::now());
    }
    ASSERT_EQ(got.size(), whole.size());
    EXPECT_EQ(std::memcmp(got.data(), whole.data(), whole.size()), 0);
}

TEST(PieceSealer, AFullBufferFlushesTheSinkBeforeItIsReused) {
    Lab lab;
    auto whole = datagram(65507);  // 46 pieces
    lab.seal(whole);
    EXPECT_EQ(lab.sink.flushes, 0u);
    lab.seal(whole);  // the 65th piece needs the buffer again
    EXPECT_EQ(lab.sink.flushes, 1u);
    EXPECT_EQ(lab.sink.sent.size(), 64u);
    lab.sink.flush();
    EXPECT_EQ(lab.sink.sent.size(), 92u);
}

TEST(PieceSealer, ADatagramThatWouldTakeMoreThan255PiecesIsRefusedAndNothingSent) {
    Lab lab;
    // 100 bytes of room: 92 bytes of payload per piece, 713 pieces.
    EXPECT_EQ(lab.seal(datagram(65507), 100), 0u);
    EXPECT_TRUE(lab.sink.pending.empty());
    EXPECT_EQ(lab.counter, 100u);
}
