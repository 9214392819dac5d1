#pragma once
// The sessions of one relay, keyed by peer address (client: the downstream
// source; server: the sender on the port set). Owns them, bounds their
// number, expires idle ones in a periodic sweep (no timer work per packet),
// and keeps the session gauges and counters.

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <vector>

#include "io/clock.hpp"
#include "metrics/registry.hpp"
#include "net/address.hpp"

namespace porthop::relay {

// Session must have a member `TimePoint last_active`. Key: the peer address
// (plain mode) or the session id (session mode's server relay).
template <typename Session, typename Key = net::Address, typename Hash = net::AddressHash>
class SessionTable {
public:
    SessionTable(metrics::Registry& metrics, size_t max_sessions) : metrics_(metrics), max_(max_sessions) {
        table_.reserve(max_sessions < 1024 ? max_sessions : 1024);
    }
    ~SessionTable() { close_all(metrics::CloseReason::shutdown); }
    SessionTable(const SessionTable&) = delete;
    SessionTable& operator=(const SessionTable&) = delete;

    Session* find(const Key& peer) {
        auto it = table_.find(peer);
        return it == table_.end() ? nullptr : it->second.get();
    }
    bool full() const { return table_.size() >= max_; }
    // A lower bound closes nothing: sessions beyond it live on until they
    // expire; new ones wait for room.
    void set_max(size_t max_sessions) { max_ = max_sessions; }
    size_t size() const { return table_.size(); }

    Session& insert(const Key& peer, std::unique_ptr<Session> s) {
        Session& ref = *s;
        table_.emplace(peer, std::move(s));
        metrics_.add(metrics::Family::sessions_opened);
        metrics_.set(metrics::Family::sessions, table_.size());
        return ref;
    }

    // Closes sessions idle for `idle` or longer, and those marked broken.
    // Never call it from a session's own event callback.
    template <typename IsBroken>
    size_t expire(TimePoint now, Duration idle, IsBroken is_broken) {
        size_t closed = 0;
        for (auto it = table_.begin(); it != table_.end();) {
            Session& s = *it->second;
            if (is_broken(s)) {
                metrics_.add(metrics::Family::sessions_closed, metrics::CloseReason::error);
            } else if (now - s.last_active >= idle) {
                metrics_.add(metrics::Family::sessions_closed, metrics::CloseReason::idle);
            } else {
                ++it;
                continue;
            }
            it = table_.erase(it);
            ++closed;
        }
        if (closed != 0) metrics_.set(metrics::Family::sessions, table_.size());
        return closed;
    }

    // Closes (reason "evicted") the first session, among the first
    // `scan` of the table, that `victim` picks; false when none. Never
    // call it with a session that a caller still points to.
    template <typename Victim>
    bool evict_one(Victim victim, size_t scan) {
        auto it = table_.begin();
        for (size_t i = 0; i < scan && it != table_.end(); ++i, ++it) {
            if (!victim(*it->second)) continue;
            table_.erase(it);
            metrics_.add(metrics::Family::sessions_closed, metrics::CloseReason::evicted);
            metrics_.set(metrics::Family::sessions, table_.size());
            return true;
        }
        return false;
    }

    void close_all(metrics::CloseReason reason) {
        if (table_.empty()) return;
        metrics_.add(metrics::Family::sessions_closed, reason, table_.size());
        table_.clear();
        metrics_.set(metrics::Family::sessions, 0);
    }

    template <typename Fn>
    void for_each(Fn fn) {
        for (auto& [peer, s] : table_) fn(*s);
    }
    template <typename Fn>
    void for_each(Fn fn) const {
        for (const auto& [peer, s] : table_) fn(static_cast<const Session&>(*s));
    }

    // The `n` most recently active sessions, most recent first: for
    // GET /sessions, never the datagram path. One pass and a partial sort,
    // O(size log n).
    std::vector<const Session*> most_recent(size_t n) const {
        std::vector<const Session*> all;
        all.reserve(table_.size());
        for (const auto& [peer, s] : table_) all.push_back(s.get());
        n = std::min(n, all.size());
        std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                          [](const Session* a, const Session* b) { return a->last_active > b->last_active; });
        all.resize(n);
        return all;
    }

private:
    metrics::Registry& metrics_;
    size_t max_;
    std::unordered_map<Key, std::unique_ptr<Session>, Hash> table_;
};

}  // namespace porthop::relay
