#pragma once
// Puts session mode's pieces (relay/pieces.hpp) back together. A fixed pool
// of kSlots slots of kMaxWhole bytes each, shared by the relay's sessions
// and allocated once, at the first piece (a relay that never sees a piece,
// e.g. QUIC only, pays nothing); nothing is allocated per piece. Each piece
// is copied once, into its place in the slot (the one copy of its payload);
// the whole datagram is sent on from the slot.
//
// Bounds: a session holds at most kPerSession incomplete datagrams, the pool
// kSlots. A datagram whose first piece is older than kTimeout is given up
// (reassembly_timeout) when its slot is wanted or at the next expire(); a
// new datagram that finds no room evicts the oldest incomplete one, of its
// session if that session is at its bound, else of any
// (reassembly_full). Both count one drop per datagram given up. A piece that
// is not one a sender makes (parse_piece), or does not match the datagram
// its id names, or came before, is a bad_piece.
//
// A completed datagram stays in its slot until release_delivered(): the
// relay calls it once the datagrams it handed on are sent or queued (the
// send queue copies what it keeps), and before more than kMaxDelivered are
// waiting (must_release()).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "io/clock.hpp"
#include "metrics/registry.hpp"
#include "relay/pieces.hpp"

namespace porthop::relay {

class Reassembly {
public:
    static constexpr size_t kSlots = 32;
    static constexpr size_t kPerSession = 8;
    static constexpr size_t kMaxDelivered = 16;
    static constexpr Duration kTimeout{500};

    explicit Reassembly(metrics::Registry& metrics) : metrics_(metrics) {}

    // `piece`: the plaintext of an opened piece of session `owner`. Returns
    // the whole datagram once its last piece is in (valid until
    // release_delivered()), else an empty span.
    std::span<std::byte> add(uint64_t owner, std::span<const std::byte> piece, TimePoint now);

    bool must_release() const { return delivered_ >= kMaxDelivered; }
    void release_delivered();
    // Gives up the incomplete datagrams older than kTimeout.
    void expire(TimePoint now);

    // Incomplete datagrams held now (tests).
    size_t incomplete() const;

private:
    enum class State : uint8_t { free, filling, delivered };
    struct Slot {
        State state = State::free;
        uint64_t owner = 0;
        PieceHeader first;  // id, total and count of the datagram; index unused
        uint8_t received = 0;
        std::array<uint64_t, 4> have{};  // pieces in, by index
        TimePoint started;
    };

    Slot* find(uint64_t owner, uint32_t id);
    Slot* claim(uint64_t owner, TimePoint now);
    void give_up(Slot& slot, TimePoint now);
    std::byte* buffer(const Slot& slot) { return buffers_.get() + (&slot - slots_.data()) * kMaxWhole; }

    metrics::Registry& metrics_;
    std::array<Slot, kSlots> slots_{};
    std::unique_ptr<std::byte[]> buffers_;
    size_t delivered_ = 0;
};

}  // namespace porthop::relay
