// Session mode's reassembly (src/relay/reassembly.hpp, pieces.hpp): a
// sequence of pieces taken from the input, some cut from known datagrams
// (of a few sessions and ids, in any order, repeated, interleaved), some
// anything, with time moving on and delivered datagrams released. Never a
// crash or a read outside a piece; the pool stays within its bound; a
// datagram given back is exactly the one its session cut under that id, and
// stays intact until released.
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "fuzz_common.hpp"
#include "metrics/registry.hpp"
#include "relay/pieces.hpp"
#include "relay/reassembly.hpp"

using namespace porthop;
using namespace porthop::relay;

namespace {

std::vector<std::byte> datagram_of(uint64_t owner, uint32_t id, size_t size) {
    std::vector<std::byte> d(size);
    for (size_t i = 0; i < size; ++i) d[i] = std::byte(static_cast<uint8_t>(i * 31 + owner * 7 + id));
    return d;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    porthop_fuzz::Reader r(data, size);
    metrics::Registry metrics;
    Reassembly reassembly(metrics);
    TimePoint now{};
    // What each (session, id) cut: the model.
    struct Cut {
        std::vector<std::byte> whole;
        size_t room = 0;  // plaintext bytes per piece
    };
    std::map<std::pair<uint64_t, uint32_t>, Cut> cuts;
    std::vector<std::pair<std::span<std::byte>, const std::vector<std::byte>*>> delivered;

    auto check_delivered = [&] {
        for (auto& [got, want] : delivered) {
            FUZZ_CHECK(got.size() == want->size());
            FUZZ_CHECK(std::memcmp(got.data(), want->data(), got.size()) == 0);
        }
    };

    while (!r.empty()) {
        const uint8_t op = r.u8();
        switch (op & 3) {
            case 0:
            case 1: {
                // A legal piece: the first piece of a session and id fixes
                // the datagram's size and how it is cut; the input picks
                // which piece.
                const uint64_t owner = op >> 6;
                const uint32_t id = r.u8() & 15;
                Cut& c = cuts[{owner, id}];
                if (c.whole.empty()) {
                    c.room = 100 + r.u16() % 1400;
                    c.whole = datagram_of(owner, id, c.room + r.u16() % 20000);
                }
                const auto& whole = c.whole;
                auto count = piece_count(whole.size(), c.room);
                if (!count) break;
                PieceHeader h{id, static_cast<uint16_t>(whole.size()), static_cast<uint8_t>(r.u8() % *count),
                              static_cast<uint8_t>(*count)};
                std::vector<std::byte> piece(kPieceHeaderSize + h.length());
                put_piece_header(piece.data(), h);
                std::memcpy(piece.data() + kPieceHeaderSize, whole.data() + h.offset(), h.length());
                auto got = reassembly.add(owner, piece, now);
                if (!got.empty()) {
                    FUZZ_CHECK(got.size() == whole.size());
                    FUZZ_CHECK(std::memcmp(got.data(), whole.data(), got.size()) == 0);
                    delivered.emplace_back(got, &whole);
                }
                break;
            }
            case 2: {
                // Anything, as an opened piece of another session (exact-size
                // heap copy, so ASan sees any read past its end).
                auto bytes = r.take(r.u8());
                std::vector<std::byte> piece(bytes.size());
                if (!bytes.empty()) std::memcpy(piece.data(), bytes.data(), bytes.size());
                auto got = reassembly.add(100 + (op >> 6), piece, now);
                FUZZ_CHECK(got.size() <= kMaxWhole);
                break;
            }
            default:
                now += Duration(r.u8() * 4);
                if (op & 4) reassembly.expire(now);
                if (op & 8) {
                    check_delivered();
                    delivered.clear();
                    reassembly.release_delivered();
                }
                break;
        }
        FUZZ_CHECK(reassembly.incomplete() <= Reassembly::kSlots);
        if (reassembly.must_release()) {
            check_delivered();
            delivered.clear();
            reassembly.release_delivered();
        }
    }
    check_delivered();
    return 0;
}
