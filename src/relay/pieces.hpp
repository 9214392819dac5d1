#pragma once
// Session mode's pieces (docs/protocol.md, "Pieces"): a datagram too large
// for --mtu once framed leaves as 2 to 255 pieces, each an ordinary sealed
// datagram whose version byte has kPieceFlag set and whose plaintext starts
// with this 8-byte piece header:
//
//   datagram id (4, big-endian) | total length (2) | piece index (1) | piece count (1)
//
// The datagram is cut into `count` pieces of equal size (the last may be
// shorter), so the receiver places any piece on arrival, in any order, from
// the header alone, and checks its exact length; equal pieces also let
// GSO/GRO carry a whole datagram's pieces as one run.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/session_crypto.hpp"

namespace porthop::relay {

using crypto::kPieceFlag;
inline constexpr size_t kPieceHeaderSize = 8;
inline constexpr size_t kMaxPieces = 255;
// The largest datagram the total length field holds.
inline constexpr size_t kMaxWhole = 65535;

struct PieceHeader {
    uint32_t id = 0;  // the low 32 bits of the counter of the datagram's first piece
    uint16_t total = 0;
    uint8_t index = 0;
    uint8_t count = 0;

    // Every piece but the last carries this many bytes.
    size_t piece_size() const { return (size_t{total} + count - 1) / count; }
    size_t offset() const { return index * piece_size(); }
    size_t length() const { return index + 1u == count ? total - offset() : piece_size(); }
};

// How a datagram of `total` bytes is cut when a piece's plaintext (piece
// header included) may hold `room` bytes: how many pieces; nullopt when it
// takes more than kMaxPieces (an --mtu too small for the datagram) or the
// datagram is larger than kMaxWhole.
inline std::optional<size_t> piece_count(size_t total, size_t room) {
    if (room <= kPieceHeaderSize || total > kMaxWhole) return std::nullopt;
    size_t per = room - kPieceHeaderSize;
    size_t count = (total + per - 1) / per;
    if (count < 2) count = 2;  // only called for datagrams that do not fit whole
    if (count > kMaxPieces || count > total) return std::nullopt;
    // No empty last piece (only for a room far below what --mtu allows).
    if ((count - 1) * ((total + count - 1) / count) >= total) return std::nullopt;
    return count;
}

inline void put_piece_header(std::byte* at, const PieceHeader& h) {
    at[0] = std::byte(h.id >> 24);
    at[1] = std::byte(h.id >> 16);
    at[2] = std::byte(h.id >> 8);
    at[3] = std::byte(h.id);
    at[4] = std::byte(h.total >> 8);
    at[5] = std::byte(h.total);
    at[6] = std::byte(h.index);
    at[7] = std::byte(h.count);
}

// The header of an opened piece's plaintext, or nullopt when it is not one
// a sender makes: fewer than 2 pieces, an index past the count, a cut that
// leaves a piece empty, or a payload of another length than its place.
inline std::optional<PieceHeader> parse_piece(std::span<const std::byte> plain) {
    if (plain.size() < kPieceHeaderSize) return std::nullopt;
    auto u8 = [&](size_t i) { return std::to_integer<uint32_t>(plain[i]); };
    PieceHeader h;
    h.id = u8(0) << 24 | u8(1) << 16 | u8(2) << 8 | u8(3);
    h.total = static_cast<uint16_t>(u8(4) << 8 | u8(5));
    h.index = static_cast<uint8_t>(u8(6));
    h.count = static_cast<uint8_t>(u8(7));
    if (h.count < 2 || h.index >= h.count || h.total < h.count) return std::nullopt;
    if ((h.count - 1u) * h.piece_size() >= h.total) return std::nullopt;
    if (plain.size() - kPieceHeaderSize != h.length()) return std::nullopt;
    return h;
}

}  // namespace porthop::relay
