#include "relay/server_relay.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "net/offload.hpp"
#include "relay/batch_groups.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"
#include "relay/session_state_file.hpp"
#include "relay/shared_state_file.hpp"

namespace porthop::relay {

using metrics::Direction;
using metrics::DropReason;

namespace {
// The most datagrams one receive can hold: a batch of GRO runs, each of at
// most the kernel's segment count.
constexpr size_t kMaxReady = net::kBatchSize * net::kMaxSegments;
}  // namespace

template <typename Framing>
ServerRelay<Framing>::ServerRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                                  const crypto::Key* psk, WorkerPlace place)
    : Relay(base, metrics, options),
      place_(place),
      framing_(FramingSetup{base, metrics, options, psk, &listeners_}),
      new_sessions_(options.new_session_rate),
      sessions_(metrics, options.max_sessions),
      ready_(std::make_unique<net::OutDatagram[]>(kMaxReady)) {
    listeners_ = open_port_set_listeners([this](size_t index) { on_listener_readable(index); },
                                         Framing::kTraits.coalesce_framed);
    spdlog::info("server relay ({} mode) listening on {} ports {} ({} sockets), upstream {}", Framing::kTraits.name,
                 options.listen_ip.ip_string(), options.listen_ports.to_string(), listeners_.size(),
                 options.upstream.to_string());
    if constexpr (Framing::kTraits.state_file) {
        if (!options.state_file.empty()) restore_state(Clock::now());
    }
}

template <typename Framing>
ServerRelay<Framing>::~ServerRelay() {
    shutdown();
}

template <typename Framing>
void ServerRelay<Framing>::shutdown() {
    // Keep the sessions in the state file: a restart (systemctl restart,
    // an upgrade) takes them back.
    if constexpr (Framing::kTraits.state_file) {
        if (!listeners_.empty() && !options_.state_file.empty()) save_state(Clock::now());
    }
    sessions_.close_all(metrics::CloseReason::shutdown);
    listeners_.clear();
}

template <typename Framing>
std::vector<int> ServerRelay<Framing>::listener_fds() const {
    std::vector<int> fds;
    for (const auto& l : listeners_) fds.push_back(l->socket().fd());
    return fds;
}

template <typename Framing>
std::vector<net::Address> ServerRelay<Framing>::session_peers() {
    std::vector<net::Address> peers;
    sessions_.for_each([&](Session& s) { peers.push_back(s.peer); });
    return peers;
}

template <typename Framing>
typename ServerRelay<Framing>::Session* ServerRelay<Framing>::open_new(const Key& key, const net::Address& peer,
                                                                       TimePoint now) {
    if (!new_sessions_.allow(peer, now) || (sessions_.full() && !evict_unanswered(now))) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        return &open_session(key, peer, 0, now);
    } catch (const net::NetError& e) {
        spdlog::debug("cannot open a session for {}: {}", peer.to_string(), e.what());
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
}

template <typename Framing>
bool ServerRelay<Framing>::evict_unanswered(TimePoint now) {
    // A full table under a flood of spoofed sources (or replayed session
    // datagrams) holds sessions the QUIC server never answered (it ignores
    // garbage); one of those, at least a second old, makes room for a
    // newcomer, so a flood cannot lock new legitimate connections out.
    // Answered sessions are never evicted, nor sessions that the batch being
    // handled still points to.
    return sessions_.evict_one(
        [&](const Session& s) {
            return !s.answered && s.batch != batch_seq_ && now - s.opened >= std::chrono::seconds(1);
        },
        kEvictionScan);
}

template <typename Framing>
typename ServerRelay<Framing>::Session& ServerRelay<Framing>::open_session(const Key& key, const net::Address& peer,
                                                                           uint16_t local_port, TimePoint now) {
    auto socket = open_socket(options_.upstream.family());
    if (local_port != 0) {
        auto any = net::Address::parse_ip(options_.upstream.is_v6() ? "::" : "0.0.0.0", local_port);
        socket.bind(*any);
    }
    socket.connect(options_.upstream);
    auto s = std::make_unique<Session>(
        Session{peer, net::Address{}, nullptr, 0, framing_.new_server_state(key), now, now, batch_seq_});
    s->rate = RateSampler(now);
    Session* raw = s.get();
    s->upstream = std::make_unique<Endpoint>(
        endpoints_, std::move(socket), Direction::upstream, [this, raw] { on_upstream_readable(*raw); }, false,
        Framing::kTraits.coalesce_plain);
    spdlog::debug("session opened from {}", peer.to_string());
    Session& session = sessions_.insert(key, std::move(s));
    if constexpr (Framing::kTraits.state_file) {
        // A new session is saved at once (a crash a moment later must not
        // lose it), but at most ten times a second: a flood of new sessions
        // waits for the sweep.
        state_dirty_ = true;
        if (!options_.state_file.empty() && now - state_written_ >= kStateSaveGap) save_state(now);
    }
    return session;
}

template <typename Framing>
void ServerRelay<Framing>::save_state(TimePoint now) {
    if constexpr (Framing::kTraits.state_file) {
        std::vector<SavedSession> saved;
        saved.reserve(sessions_.size());
        sessions_.for_each([&](Session& s) {
            SavedSession& entry = saved.emplace_back();
            entry.peer = s.peer;
            entry.upstream_port = s.upstream->socket().local_address().port();
            entry.listener = s.listener;
            entry.local = s.local;
            framing_.save(s.framing, entry);
        });
        bool written =
            place_.state != nullptr
                ? place_.state->write(place_.index, saved)
                : write_state_file(options_.state_file, StateFile{"server", Framing::kTraits.name, generation_, saved});
        if (written) {
            // The counters saved with their margin may now be used.
            size_t i = 0;
            sessions_.for_each([&](Session& s) { framing_.saved(s.framing, saved[i++]); });
        } else {
            spdlog::warn("cannot write --state-file {}: {}", options_.state_file, std::strerror(errno));
        }
        state_dirty_ = false;
        state_written_ = now;
    }
}

template <typename Framing>
void ServerRelay<Framing>::restore_state(TimePoint now) {
    if constexpr (Framing::kTraits.state_file) {
        // With workers, each takes the share whose datagrams the kernel steers
        // to it (SharedStateFile).
        StateFile file;
        if (place_.state != nullptr) {
            file.sessions = place_.state->restored(place_.index);
            generation_ = place_.state->generation();
        } else {
            file = read_state_file(options_.state_file, "server", Framing::kTraits.name, options_.idle_timeout);
            generation_ = file.generation + 1;
        }
        framing_.start_generation(generation_);
        state_written_ = now;  // open_session saves nothing half restored
        restore_sessions(file.sessions, options_.state_file, [&](const SavedSession& saved) {
            Key key = framing_.saved_key(saved);
            if (sessions_.full() || sessions_.find(key) != nullptr) return false;
            Session& s = open_session(key, saved.peer, saved.upstream_port, now);
            s.listener = saved.listener < listeners_.size() ? saved.listener : 0;
            s.answered = true;  // it carried traffic before the restart
            s.local = saved.local;
            s.framing = framing_.restore(saved);
            return true;
        });
        // Before anything is sent: the new generation, and every restored
        // session's counter margin, are on disk.
        save_state(now);
        state_written_ = TimePoint{};  // the first new session is saved at once, not 100 ms later
    }
}

template <typename Framing>
typename ServerRelay<Framing>::Session* ServerRelay<Framing>::take(std::span<std::byte> d, const net::Address& source,
                                                                   std::span<std::byte>& plain, TimePoint now) {
    DropReason why{};
    auto in = framing_.inspect(d, source, why);
    if (!in) {
        metrics_.drop(why);
        return nullptr;
    }
    Session* s = sessions_.find(in->key);
    auto opened = framing_.open(s != nullptr ? &s->framing : nullptr, *in, d, why);
    if (!opened) {
        metrics_.drop(why);
        return nullptr;
    }
    if (s == nullptr && (s = open_new(in->key, source, now)) == nullptr) return nullptr;
    framing_.accept(s->framing, *in);
    s->batch = batch_seq_;
    s->peer = source;  // roaming: replies follow the latest valid datagram
    s->last_active = now;
    plain = *opened;
    return s;
}

template <typename Framing>
void ServerRelay<Framing>::on_listener_readable(size_t index) {
    Endpoint& listener = *listeners_[index];
    bool wildcard = options_.listen_ip.is_wildcard();
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = listener.receive(batch_);
        if (r.count == 0) break;
        TimePoint now = tick();
        ++batch_seq_;

        // Each entry's datagrams go to the session of its first one (a GRO
        // run comes from one source: one session); ready_[begin[i], end[i]).
        std::array<Session*, net::kBatchSize> owners;
        std::array<uint32_t, net::kBatchSize> begin;
        std::array<uint32_t, net::kBatchSize> end;
        size_t ready = 0;
        // Sends what entries [0, upto] made ready so far (whole datagrams
        // from pieces wait in the framing until then).
        auto flush_ready = [&](size_t upto) {
            end[upto] = static_cast<uint32_t>(ready);
            for_each_group(std::span<Session* const>(owners.data(), upto + 1), [&](Session& s, auto indices) {
                Outbox<Endpoint> out(*s.upstream);
                for (size_t i : indices) {
                    for (size_t k = begin[i]; k < end[i]; ++k) out.push(ready_[k]);
                }
            });
            for (size_t j = 0; j < upto; ++j) owners[j] = nullptr;
            ready = 0;
            begin[upto] = end[upto] = 0;
            framing_.release_assembled();
        };
        for (size_t i = 0; i < r.count; ++i) {
            owners[i] = nullptr;
            begin[i] = end[i] = static_cast<uint32_t>(ready);
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            const net::Address& source = batch_.source(i);
            net::Address local = wildcard ? batch_.destination(i) : net::Address{};
            uint32_t segment = Framing::kTraits.whole_runs ? batch_.segment_size(i) : 0;
            for_each_datagram<Framing::kTraits.whole_runs>(batch_, i, [&](std::span<std::byte> d) {
                if (framing_.intercept(d, source, local, index, now)) return;
                std::span<std::byte> plain;
                Session* s = take(d, source, plain, now);
                if (s == nullptr) return;
                s->listener = index;
                s->paths.heard(index, source, now);
                if (wildcard) s->local = local;
                // A keepalive: roaming, and one answer; nothing to relay.
                if (Framing::kTraits.keepalive && plain.empty()) {
                    answer_keepalive(*s, now);
                    return;
                }
                auto whole = framing_.assemble(s->framing, d, plain, now);
                if (!whole) return;  // a piece
                plain = *whole;
                s->bytes_up += plain.size();
                net::OutDatagram out = net::OutDatagram::make(plain, nullptr);
                out.segment = segment;
                if (owners[i] == nullptr) owners[i] = s;
                if (owners[i] != s || ready == kMaxReady) {
                    // Another session in the same run: on its own.
                    s->upstream->transmit(std::span(&out, 1));
                } else {
                    ready_[ready++] = out;
                }
                if (framing_.must_release()) flush_ready(i);
            });
            end[i] = static_cast<uint32_t>(ready);
        }

        for_each_group(std::span<Session* const>(owners.data(), r.count), [&](Session& s, auto indices) {
            Outbox<Endpoint> out(*s.upstream);
            for (size_t i : indices) {
                for (size_t k = begin[i]; k < end[i]; ++k) out.push(ready_[k]);
            }
        });
        framing_.release_assembled();
        if (r.count < net::kBatchSize) break;
    }
}

// One keepalive back for each keepalive that verified (a replayed one never
// gets here: no amplification), straight to the kernel like the client's:
// the client relay's stall detector counts it as a reply, so a silent
// application behind a blackholed port still gets its stall hop.
template <typename Framing>
void ServerRelay<Framing>::answer_keepalive(Session& s, TimePoint now) {
    if constexpr (Framing::kTraits.keepalive) {
        net::OutDatagram d = net::OutDatagram::make(framing_.keepalive(s.framing), &s.peer, &s.local);
        net::send_batch(listeners_[s.listener]->socket(), std::span(&d, 1));
        if (framing_.save_due(s.framing) && !options_.state_file.empty() && now - state_written_ >= kStateSaveGap) {
            save_state(now);
        }
    }
}

template <typename Framing>
void ServerRelay<Framing>::on_upstream_readable(Session& s) {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = s.upstream->receive(batch_);
        if (r.error != 0) {
            // Typically ECONNREFUSED: the upstream port is closed and an ICMP
            // error came back for an earlier datagram.
            metrics_.drop(DropReason::send_error);
            if (!net::is_icmp_error(r.error)) s.broken = true;
            break;
        }
        if (r.count == 0) break;
        TimePoint now = tick();

        if (listeners_.empty()) return;  // shutting down
        size_t limit = framing_.max_plain(options_.mtu, s.peer);
        size_t n = 0;
        uint64_t bytes = 0;
        {
            SpreadOutbox<Endpoint> out(listeners_);
            for (size_t i = 0; i < r.count; ++i) {
                size_t size = batch_.payload(i).size();
                const RecentPaths::Entry* path = batch_.truncated(i) ? nullptr : s.paths.pick(now, size);
                out.via(path != nullptr ? path->listener : s.listener);
                if (batch_.truncated(i) ||
                    !framing_.seal_to(s.framing, batch_, i, path != nullptr ? &path->peer : &s.peer, &s.local, limit,
                                      out)) {
                    metrics_.drop(DropReason::oversize);
                    continue;
                }
                bytes += size;
                ++n;
            }
        }
        s.bytes_down += bytes;
        if (n != 0) s.answered = true;
        if (framing_.save_due(s.framing) && !options_.state_file.empty() && now - state_written_ >= kStateSaveGap) {
            save_state(now);
        }
        s.last_active = now;
        if (r.count < net::kBatchSize) break;
    }
}

template <typename Framing>
void ServerRelay<Framing>::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
    framing_.expire(now);
    size_t paths = 0;
    sessions_.for_each([&](Session& s) {
        s.rate.sample(now, s.bytes_up, s.bytes_down);
        paths += s.paths.live(now);
    });
    metrics_.set(metrics::Family::paths, paths);
    // At most once a sweep (≤ 1 s): a flood of new sessions costs one write.
    if constexpr (Framing::kTraits.state_file) {
        if ((closed != 0 || state_dirty_) && !options_.state_file.empty()) save_state(now);
    }
}

template <typename Framing>
SessionsReport ServerRelay<Framing>::report_sessions(size_t limit) const {
    return report_of(sessions_, limit, Framing::kTraits.name,
                     [this](const Session& s, SessionReport& r, TimePoint now) {
                         r.ports = {options_.listen_ports.ports[s.listener]};
                         // With --paths on the client: every port that heard from it lately.
                         s.paths.for_each_live(now, [&](const RecentPaths::Entry& e) {
                             uint16_t port = options_.listen_ports.ports[e.listener];
                             if (std::find(r.ports.begin(), r.ports.end(), port) == r.ports.end())
                                 r.ports.push_back(port);
                         });
                         r.bytes_up = s.bytes_up;
                         r.bytes_down = s.bytes_down;
                     });
}

template <typename Framing>
void ServerRelay<Framing>::on_runtime_options(TimePoint) {
    new_sessions_.set_rate(options_.new_session_rate);
    sessions_.set_max(options_.max_sessions);
}

template class ServerRelay<PlainFraming>;
template class ServerRelay<SessionFraming>;

}  // namespace porthop::relay
