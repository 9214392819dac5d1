#include "relay/reassembly.hpp"

#include <cstring>

namespace porthop::relay {

using metrics::DropReason;

namespace {
bool has(const std::array<uint64_t, 4>& bits, uint8_t i) { return ((bits[i >> 6] >> (i & 63)) & 1) != 0; }
void set(std::array<uint64_t, 4>& bits, uint8_t i) { bits[i >> 6] |= uint64_t{1} << (i & 63); }
}  // namespace

std::span<std::byte> Reassembly::add(uint64_t owner, std::span<const std::byte> piece, TimePoint now) {
    auto h = parse_piece(piece);
    if (!h) {
        metrics_.drop(DropReason::bad_piece);
        return {};
    }
    Slot* slot = find(owner, h->id);
    if (slot == nullptr) {
        slot = claim(owner, now);
        if (slot == nullptr) {
            metrics_.drop(DropReason::reassembly_full);
            return {};
        }
        slot->state = State::filling;
        slot->owner = owner;
        slot->first = *h;
        slot->received = 0;
        slot->have = {};
        slot->started = now;
    } else if (slot->first.total != h->total || slot->first.count != h->count || has(slot->have, h->index)) {
        metrics_.drop(DropReason::bad_piece);
        return {};
    }
    std::byte* whole = buffer(*slot);
    std::memcpy(whole + h->offset(), piece.data() + kPieceHeaderSize, h->length());
    set(slot->have, h->index);
    if (++slot->received < h->count) return {};
    slot->state = State::delivered;
    ++delivered_;
    return {whole, h->total};
}

Reassembly::Slot* Reassembly::find(uint64_t owner, uint32_t id) {
    for (Slot& s : slots_) {
        if (s.state == State::filling && s.owner == owner && s.first.id == id) return &s;
    }
    return nullptr;
}

// A slot for a new datagram of `owner`: a free one, unless the session is
// at its bound; else the oldest incomplete one (the session's own when it is
// at its bound).
Reassembly::Slot* Reassembly::claim(uint64_t owner, TimePoint now) {
    if (!buffers_) buffers_ = std::make_unique<std::byte[]>(kSlots * kMaxWhole);
    size_t mine = 0;
    Slot* free = nullptr;
    Slot* oldest = nullptr;
    Slot* oldest_mine = nullptr;
    for (Slot& s : slots_) {
        if (s.state == State::free) {
            if (free == nullptr) free = &s;
            continue;
        }
        if (s.state != State::filling) continue;
        if (oldest == nullptr || s.started < oldest->started) oldest = &s;
        if (s.owner == owner) {
            ++mine;
            if (oldest_mine == nullptr || s.started < oldest_mine->started) oldest_mine = &s;
        }
    }
    Slot* victim = mine >= kPerSession ? oldest_mine : free != nullptr ? free : oldest;
    if (victim != nullptr && victim->state == State::filling) give_up(*victim, now);
    return victim;
}

void Reassembly::give_up(Slot& slot, TimePoint now) {
    metrics_.drop(now - slot.started >= kTimeout ? DropReason::reassembly_timeout : DropReason::reassembly_full);
    slot.state = State::free;
}

void Reassembly::release_delivered() {
    if (delivered_ == 0) return;
    for (Slot& s : slots_) {
        if (s.state == State::delivered) s.state = State::free;
    }
    delivered_ = 0;
}

void Reassembly::expire(TimePoint now) {
    for (Slot& s : slots_) {
        if (s.state == State::filling && now - s.started >= kTimeout) give_up(s, now);
    }
}

size_t Reassembly::incomplete() const {
    size_t n = 0;
    for (const Slot& s : slots_) n += s.state == State::filling ? 1 : 0;
    return n;
}

}  // namespace porthop::relay
