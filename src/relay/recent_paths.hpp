#pragma once
// The server relay's view of a session's paths (--paths on the client,
// docs/design.md, "Paths"): the (listening socket, source address) pairs that
// heard a valid datagram of the session within kWindow and since the newest
// pair appeared (see live() and touch()). Replies are spread
// over them, kChunk bytes at a time in turn, so the downstream of a download
// crosses every flow the client opened and each flow carries 1/N of it. A
// plain-mode session has one source address and N listening ports; a
// session-mode one a source address per path. With none heard lately (a
// quiet client) the reply takes the pair heard last, as before --paths.

#include <array>
#include <cstddef>
#include <cstdint>

#include "config/options.hpp"
#include "io/clock.hpp"
#include "net/address.hpp"

namespace porthop::relay {

class RecentPaths {
public:
    // Longer than the client's gap between two sends on one path while a
    // download runs (its ACKs go round robin over the paths), short enough
    // that a path the client left (a hop) stops carrying replies at once.
    static constexpr Duration kWindow{1'000};
    // A pair left for a newer one and heard again within this of the newer
    // one's appearance is not a path coming back: those are datagrams that
    // were on their way, or waiting in its socket, when the client hopped.
    static constexpr Duration kStraggle{10};
    // Bytes sent on one path before the next takes over: about one receive
    // batch (fewer sends and wakeups on both relays: at 16 KiB session mode
    // with 8 paths lost two thirds of its rate) and about the burst a
    // per-flow policer allows; the paths still take equal shares.
    static constexpr uint64_t kChunk = 64 * 1024;

    struct Entry {
        size_t listener = 0;
        net::Address peer;
        TimePoint heard;
    };

    // A valid datagram of the session arrived on `listener` from `peer`.
    void heard(size_t listener, const net::Address& peer, TimePoint now) {
        // Consecutive datagrams mostly come on one path: that one first.
        if (last_ < count_ && matches(at(last_), listener, peer)) {
            touch(at(last_), now);
            return;
        }
        size_t oldest = 0;
        for (size_t i = 0; i < count_; ++i) {
            Entry& e = at(i);
            if (matches(e, listener, peer)) {
                touch(e, now);
                last_ = i;
                return;
            }
            if (e.heard < at(oldest).heard) oldest = i;
        }
        // Room for the newcomer: the oldest pair if it went silent for
        // kWindow or the table is full, else a new slot.
        if (count_ < entries_.size() && (count_ == 0 || now - at(oldest).heard < kWindow)) oldest = count_++;
        last_ = oldest;
        at(last_) = Entry{listener, peer, now};
        appeared_ = now;
    }

    // The pair for the next `bytes` of replies, among those heard within
    // kWindow; null when none was.
    const Entry* pick(TimePoint now, uint64_t bytes) {
        for (size_t tries = 0; tries < count_; ++tries) {
            const Entry& e = at(turn_ % count_);
            if (live(e, now)) {
                sent_ += bytes;
                if (sent_ >= kChunk) {
                    sent_ = 0;
                    ++turn_;
                }
                return &e;
            }
            sent_ = 0;
            ++turn_;
        }
        return nullptr;
    }

    // How many pairs heard from the session within kWindow.
    size_t live(TimePoint now) const {
        size_t n = 0;
        for (size_t i = 0; i < count_; ++i) n += live(at(i), now) ? 1 : 0;
        return n;
    }

    template <typename F>
    void for_each_live(TimePoint now, F f) const {
        for (size_t i = 0; i < count_; ++i) {
            if (live(at(i), now)) f(at(i));
        }
    }

    // Pairs kept, live or not.
    size_t size() const { return count_; }

private:
    // Heard within kWindow, and since the newest pair appeared: a pair that
    // went silent when a new one came up is a path that hopped (or a
    // roaming client) and may already be closed; concurrent paths keep
    // being heard in turn.
    bool live(const Entry& e, TimePoint now) const { return e.heard >= appeared_ && now - e.heard < kWindow; }
    // A pair heard again within kWindow is a concurrent path (the client
    // sends on its paths in turn, so each is heard a moment after another
    // appeared), unless it is a straggler (kStraggle); one that comes back
    // after a silence of kWindow (a path hopped back to a port) counts as
    // newly appeared.
    void touch(Entry& e, TimePoint now) {
        if (now - e.heard >= kWindow) {
            appeared_ = now;
        } else if (e.heard < appeared_ && now - appeared_ < kStraggle) {
            return;
        }
        e.heard = now;
    }
    static bool matches(const Entry& e, size_t listener, const net::Address& peer) {
        return e.listener == listener && e.peer == peer;
    }
    Entry& at(size_t i) { return entries_[i]; }
    const Entry& at(size_t i) const { return entries_[i]; }

    // Twice the most paths a client opens: room for the pairs a path just
    // left (within kWindow of its hop) besides the current ones. Fixed, in
    // the session (the hot path allocates nothing): 32 x 48 bytes.
    std::array<Entry, 2 * config::kMaxPaths> entries_{};
    size_t count_ = 0;
    size_t last_ = 0;     // the entry heard last
    TimePoint appeared_;  // when the newest entry was first heard
    size_t turn_ = 0;
    uint64_t sent_ = 0;
};

}  // namespace porthop::relay
