#include "relay/reassembly.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "metrics/registry.hpp"
#include "relay/pieces.hpp"

namespace {

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;
using metrics::DropReason;

using Bytes = std::vector<std::byte>;

Bytes datagram(size_t size, uint8_t seed = 1) {
    Bytes d(size);
    for (size_t i = 0; i < size; ++i) d[i] = std::byte(static_cast<uint8_t>(i * 7 + seed));
    return d;
}

// The plaintexts of `whole`'s pieces as a sender makes them, `room` bytes
// of plaintext each at most.
std::vector<Bytes> cut(const Bytes& whole, uint32_t id, size_t room = 1439) {
    size_t count = *piece_count(whole.size(), room);
    std::vector<Bytes> pieces;
    PieceHeader h{id, static_cast<uint16_t>(whole.size()), 0, static_cast<uint8_t>(count)};
    for (size_t k = 0; k < count; ++k) {
        h.index = static_cast<uint8_t>(k);
        Bytes p(kPieceHeaderSize + h.length());
        put_piece_header(p.data(), h);
        std::memcpy(p.data() + kPieceHeaderSize, whole.data() + h.offset(), h.length());
        pieces.push_back(std::move(p));
    }
    return pieces;
}

struct Lab {
    metrics::Registry metrics;
    Reassembly r{metrics};
    TimePoint now = Clock::now();
    uint64_t drops(DropReason why) const { return metrics.get(metrics::Family::dropped, why); }
    std::span<std::byte> add(uint64_t owner, const Bytes& piece) { return r.add(owner, piece, now); }
};

bool same(std::span<const std::byte> got, const Bytes& want) {
    return got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin());
}

}  // namespace

TEST(Pieces, A1452ByteDatagramAtMtu1500IsTwoEqualPieces) {
    EXPECT_EQ(piece_count(1452, 1439), 2u);
    PieceHeader h{0, 1452, 1, 2};
    EXPECT_EQ(h.piece_size(), 726u);
    EXPECT_EQ(h.offset(), 726u);
    EXPECT_EQ(h.length(), 726u);
}

TEST(Pieces, TheLargestDatagramFitsTheSmallestMtu) {
    // --mtu 576 over IPv6: 576 - 48 - 33 bytes of plaintext per piece.
    auto count = piece_count(65535, 576 - 48 - 33);
    ASSERT_TRUE(count);
    EXPECT_LE(*count, kMaxPieces);
}

TEST(Pieces, EveryCutALegalSenderMakesParsesBack) {
    for (size_t room : {100u, 507u, 1431u, 1439u, 8000u}) {
        for (size_t total = room - kPieceHeaderSize + 1; total <= kMaxWhole; total += 97) {
            auto count = piece_count(total, room);
            if (!count) continue;
            Bytes whole = datagram(total);
            auto pieces = cut(whole, 9, room);
            size_t sum = 0;
            for (const Bytes& p : pieces) {
                ASSERT_LE(p.size(), room) << total;
                auto h = parse_piece(p);
                ASSERT_TRUE(h) << total << " " << room;
                sum += h->length();
            }
            EXPECT_EQ(sum, total);
        }
    }
}

TEST(Pieces, GarbageHeadersAreRefused) {
    Bytes p(kPieceHeaderSize + 10);
    auto with = [&](PieceHeader h, size_t payload) {
        Bytes b(kPieceHeaderSize + payload);
        put_piece_header(b.data(), h);
        return parse_piece(b).has_value();
    };
    EXPECT_FALSE(parse_piece(std::span<const std::byte>(p.data(), 7)));
    EXPECT_FALSE(with({1, 20, 0, 1}, 20)) << "one piece is no piece";
    EXPECT_FALSE(with({1, 20, 2, 2}, 10)) << "index past the count";
    EXPECT_FALSE(with({1, 3, 0, 4}, 1)) << "more pieces than bytes";
    EXPECT_FALSE(with({1, 9, 3, 4}, 0)) << "an empty last piece";
    EXPECT_FALSE(with({1, 20, 0, 2}, 11)) << "a payload of the wrong length";
    EXPECT_TRUE(with({1, 21, 1, 2}, 10));
}

TEST(Reassembly, PiecesInOrderGiveTheDatagramBack) {
    Lab lab;
    Bytes whole = datagram(4000);
    auto pieces = cut(whole, 5);
    ASSERT_EQ(pieces.size(), 3u);
    EXPECT_TRUE(lab.add(1, pieces[0]).empty());
    EXPECT_TRUE(lab.add(1, pieces[1]).empty());
    EXPECT_TRUE(same(lab.add(1, pieces[2]), whole));
    EXPECT_EQ(lab.r.incomplete(), 0u);
}

TEST(Reassembly, PiecesOutOfOrderGiveTheDatagramBack) {
    Lab lab;
    Bytes whole = datagram(65507);
    auto pieces = cut(whole, 5);
    std::reverse(pieces.begin(), pieces.end());
    std::swap(pieces[3], pieces[10]);
    std::span<std::byte> got;
    for (size_t k = 0; k < pieces.size(); ++k) {
        got = lab.add(1, pieces[k]);
        EXPECT_EQ(got.empty(), k + 1 < pieces.size());
    }
    EXPECT_TRUE(same(got, whole));
}

TEST(Reassembly, InterleavedDatagramsOfTwoSessionsStayApart) {
    Lab lab;
    Bytes a = datagram(3000, 1), b = datagram(3000, 2);
    auto pa = cut(a, 7), pb = cut(b, 7);  // the same id in two sessions
    for (size_t k = 0; k + 1 < pa.size(); ++k) {
        EXPECT_TRUE(lab.add(1, pa[k]).empty());
        EXPECT_TRUE(lab.add(2, pb[k]).empty());
    }
    EXPECT_TRUE(same(lab.add(2, pb.back()), b));
    EXPECT_TRUE(same(lab.add(1, pa.back()), a));
}

TEST(Reassembly, ADuplicatePieceIsABadPieceAndChangesNothing) {
    Lab lab;
    Bytes whole = datagram(2000);
    auto pieces = cut(whole, 1);
    EXPECT_TRUE(lab.add(1, pieces[0]).empty());
    EXPECT_TRUE(lab.add(1, pieces[0]).empty());
    EXPECT_EQ(lab.drops(DropReason::bad_piece), 1u);
    EXPECT_TRUE(same(lab.add(1, pieces[1]), whole));
}

TEST(Reassembly, APieceThatDisagreesWithItsDatagramIsABadPiece) {
    Lab lab;
    auto first = cut(datagram(2000), 1);
    auto other = cut(datagram(3000), 1);  // the same id, another length
    EXPECT_TRUE(lab.add(1, first[0]).empty());
    EXPECT_TRUE(lab.add(1, other[1]).empty());
    EXPECT_EQ(lab.drops(DropReason::bad_piece), 1u);
    EXPECT_EQ(lab.r.incomplete(), 1u);
}

TEST(Reassembly, GarbageIsABadPiece) {
    Lab lab;
    Bytes junk(100, std::byte{0xff});
    EXPECT_TRUE(lab.add(1, junk).empty());
    EXPECT_TRUE(lab.add(1, Bytes(3)).empty());
    EXPECT_EQ(lab.drops(DropReason::bad_piece), 2u);
    EXPECT_EQ(lab.r.incomplete(), 0u);
}

TEST(Reassembly, ALostPieceLosesOnlyItsDatagramAfterTheTimeout) {
    Lab lab;
    auto lost = cut(datagram(2000, 1), 1);
    Bytes next = datagram(2000, 2);
    auto ok = cut(next, 2);
    EXPECT_TRUE(lab.add(1, lost[0]).empty());
    EXPECT_TRUE(lab.add(1, ok[0]).empty());
    EXPECT_TRUE(same(lab.add(1, ok[1]), next));
    lab.now += Reassembly::kTimeout - 1ms;
    lab.r.expire(lab.now);
    EXPECT_EQ(lab.r.incomplete(), 1u) << "not yet";
    lab.now += 1ms;
    lab.r.expire(lab.now);
    EXPECT_EQ(lab.r.incomplete(), 0u);
    EXPECT_EQ(lab.drops(DropReason::reassembly_timeout), 1u);
    EXPECT_EQ(lab.drops(DropReason::reassembly_full), 0u);
}

TEST(Reassembly, ASessionHoldsAtMostItsShareAndLosesItsOldestFirst) {
    Lab lab;
    std::vector<std::vector<Bytes>> held;
    for (uint32_t id = 0; id <= Reassembly::kPerSession; ++id) {
        held.push_back(cut(datagram(2000, static_cast<uint8_t>(id)), id));
        EXPECT_TRUE(lab.add(1, held.back()[0]).empty());
        lab.now += 1ms;
    }
    EXPECT_EQ(lab.r.incomplete(), Reassembly::kPerSession);
    EXPECT_EQ(lab.drops(DropReason::reassembly_full), 1u);
    // The oldest (id 0) is gone: its last piece starts it anew; the next
    // oldest still completes.
    EXPECT_TRUE(same(lab.add(1, held[1][1]), datagram(2000, 1)));
    EXPECT_TRUE(lab.add(1, held[0][1]).empty());
}

TEST(Reassembly, ThePoolIsBoundedAcrossSessionsAndEvictsTheOldest) {
    Lab lab;
    for (uint64_t owner = 0; owner < Reassembly::kSlots; ++owner) {
        EXPECT_TRUE(lab.add(owner, cut(datagram(2000), 1)[0]).empty());
        lab.now += 1ms;
    }
    EXPECT_EQ(lab.r.incomplete(), Reassembly::kSlots);
    auto newcomer = cut(datagram(2000, 9), 1);
    EXPECT_TRUE(lab.add(100, newcomer[0]).empty());
    EXPECT_EQ(lab.r.incomplete(), Reassembly::kSlots);
    EXPECT_EQ(lab.drops(DropReason::reassembly_full), 1u);
    EXPECT_TRUE(same(lab.add(100, newcomer[1]), datagram(2000, 9)));
    // Owner 0's was the oldest.
    EXPECT_TRUE(lab.add(0, cut(datagram(2000), 1)[1]).empty());
}

TEST(Reassembly, DeliveredDatagramsStayUntilReleased) {
    Lab lab;
    std::vector<std::span<std::byte>> out;
    for (uint32_t id = 0; id < Reassembly::kMaxDelivered; ++id) {
        auto pieces = cut(datagram(2000, static_cast<uint8_t>(id)), id);
        lab.add(1, pieces[0]);
        out.push_back(lab.add(1, pieces[1]));
        EXPECT_EQ(lab.r.must_release(), id + 1 == Reassembly::kMaxDelivered);
    }
    // Other datagrams meanwhile use other slots: what was delivered is intact.
    for (uint64_t owner = 2; owner < 40; ++owner) lab.add(owner, cut(datagram(2000, 99), 1)[0]);
    for (uint32_t id = 0; id < Reassembly::kMaxDelivered; ++id) {
        EXPECT_TRUE(same(out[id], datagram(2000, static_cast<uint8_t>(id))));
    }
    lab.r.release_delivered();
    EXPECT_FALSE(lab.r.must_release());
}
