#pragma once
// The server relay's view of a session's paths (--paths on the client,
// docs/design.md, "Paths"): the (listening socket, source address) pairs that
// heard a valid datagram of the session within kWindow and since the newest
// pair appeared (see live()). Replies are spread
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
        if (last_ < count_ && matches(entries_[last_], listener, peer)) {
            touch(entries_[last_], now);
            return;
        }
        size_t oldest = 0;
        for (size_t i = 0; i < count_; ++i) {
            Entry& e = entries_[i];
            if (matches(e, listener, peer)) {
                touch(e, now);
                last_ = i;
                return;
            }
            if (e.heard < entries_[oldest].heard) oldest = i;
        }
        last_ = count_ < entries_.size() ? count_++ : oldest;
        entries_[last_] = Entry{listener, peer, now};
        appeared_ = now;
    }

    // The pair for the next `bytes` of replies, among those heard within
    // kWindow; null when none was.
    const Entry* pick(TimePoint now, uint64_t bytes) {
        for (size_t tries = 0; tries < count_; ++tries) {
            const Entry& e = entries_[turn_ % count_];
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
        for (size_t i = 0; i < count_; ++i) n += live(entries_[i], now) ? 1 : 0;
        return n;
    }

    template <typename F>
    void for_each_live(TimePoint now, F f) const {
        for (size_t i = 0; i < count_; ++i) {
            if (live(entries_[i], now)) f(entries_[i]);
        }
    }

private:
    // Heard within kWindow, and since the newest pair appeared: a pair that
    // went silent when a new one came up is a path that hopped (or a
    // roaming client) and may already be closed; concurrent paths keep
    // being heard in turn.
    bool live(const Entry& e, TimePoint now) const { return e.heard >= appeared_ && now - e.heard < kWindow; }
    // A pair that comes back after it was left (a path hopped back to a
    // port) counts as newly appeared.
    void touch(Entry& e, TimePoint now) {
        if (!live(e, now)) appeared_ = now;
        e.heard = now;
    }
    static bool matches(const Entry& e, size_t listener, const net::Address& peer) {
        return e.listener == listener && e.peer == peer;
    }

    // Twice the most paths a client opens: room for the pairs a path just
    // left (within kWindow of its hop) besides the current ones.
    std::array<Entry, 2 * config::kMaxPaths> entries_{};
    size_t count_ = 0;
    size_t last_ = 0;     // the entry heard last
    TimePoint appeared_;  // when the newest entry was first heard
    size_t turn_ = 0;
    uint64_t sent_ = 0;
};

}  // namespace porthop::relay
