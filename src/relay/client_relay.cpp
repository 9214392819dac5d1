#include "relay/client_relay.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "relay/batch_groups.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"

namespace porthop::relay {

using metrics::Direction;
using metrics::DropReason;

namespace {
// How long after a flow's throttle began a slowdown hop comes, at least: the
// slowdown must fill the window, seen on the adaptive timer.
constexpr Clock::duration kSlowdownDetection = AdaptiveHops::kWindow + kAdaptiveTick;
}  // namespace

template <typename Framing>
ClientRelay<Framing>::ClientRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                                  const crypto::Key* psk)
    : Relay(base, metrics, options),
      framing_(FramingSetup{base, metrics, options, psk}),
      upstream_any_(*net::Address::parse_ip(options.server_ip.is_v6() ? "::" : "0.0.0.0")),
      hop_policy_{options.hop_interval, options.hop_jitter, options.hop_bytes},
      new_sessions_(options.new_session_rate),
      sessions_(metrics, options.max_sessions) {
    downstream_ = open_listener(
        options.listen, [this] { on_downstream_readable(); }, Framing::kTraits.coalesce_plain);
    spdlog::info("client relay ({} mode) listening on {}, server {} ports {}", Framing::kTraits.name,
                 listen_address().to_string(), options.server_ip.ip_string(), options.server_ports.to_string());
    if (!options.state_file.empty()) restore_state(Clock::now());
}

template <typename Framing>
ClientRelay<Framing>::~ClientRelay() {
    shutdown();
}

template <typename Framing>
net::Address ClientRelay<Framing>::listen_address() const {
    return downstream_ ? downstream_->socket().local_address() : net::Address{};
}

template <typename Framing>
void ClientRelay<Framing>::shutdown() {
    // Kept in the state file: a restart takes them back.
    if (downstream_ && !options_.state_file.empty()) save_state(Clock::now());
    sessions_.close_all(metrics::CloseReason::shutdown);
    downstream_.reset();
}

template <typename Framing>
size_t ClientRelay<Framing>::upstream_sockets() {
    size_t n = 0;
    sessions_.for_each([&](Session& s) {
        for (auto& p : s.paths) {
            for (auto& e : p.up) n += e && e->is_open() ? 1 : 0;
        }
    });
    return n;
}

// Bound at once (local_port 0: the kernel picks one), not at the first send:
// the state file saves the port as soon as the session opens.
template <typename Framing>
net::UdpSocket ClientRelay<Framing>::upstream_socket(uint16_t local_port) {
    auto socket = open_socket(options_.server_ip.family());
    socket.bind(upstream_any_.with_port(local_port));
    return socket;
}

template <typename Framing>
std::unique_ptr<Endpoint> ClientRelay<Framing>::open_upstream(Session& s, size_t path, uint8_t slot,
                                                              uint16_t local_port) {
    Session* raw = &s;
    return std::make_unique<Endpoint>(
        endpoints_, upstream_socket(local_port), Direction::upstream,
        [this, raw, path, slot] { on_upstream_readable(*raw, path, slot); }, false, Framing::kTraits.coalesce_framed);
}

template <typename Framing>
Endpoint& ClientRelay<Framing>::sender(Session& s, size_t path) {
    if constexpr (Framing::kTraits.hop_source_port) {
        Path& p = s.paths[path];
        return *p.up[p.current];
    } else {
        return *s.paths.main().up[0];
    }
}

template <typename Framing>
typename ClientRelay<Framing>::Session* ClientRelay<Framing>::find_or_open(const net::Address& peer, TimePoint now) {
    if (Session* s = sessions_.find(peer)) return s;
    if (sessions_.full() || !new_sessions_.allow(peer, now)) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        auto s = std::make_unique<Session>(peer,
                                           PathSet(options_.paths, hop_policy_, options_.server_ports.ports, rng_, now,
                                                   options_.server_ip, &hop_memory_),
                                           framing_.new_client_state(), now);
        size_t own_sockets = Framing::kTraits.hop_source_port ? s->paths.size() : 1;
        for (size_t i = 0; i < own_sockets; ++i) s->paths[i].up[0] = open_upstream(*s, i, 0);
        spdlog::debug("session {} opened, first port {}, {} paths", peer.to_string(), s->hop.port(), s->paths.size());
        Session& session = sessions_.insert(peer, std::move(s));
        // Saved at once (a crash a moment later must not lose it), at most
        // ten times a second; the sweep saves the rest.
        state_dirty_ = true;
        if (!options_.state_file.empty() && now - state_written_ >= kStateSaveGap) save_state(now);
        return &session;
    } catch (const net::NetError& e) {
        // Out of descriptors or memory for sockets: refuse this peer, keep
        // the others.
        spdlog::debug("cannot open a session for {}: {}", peer.to_string(), e.what());
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
}

// Moves the session to a fresh source port: the other slot's socket (a
// previous hop's, if still in grace) is replaced by a new one, which becomes
// current; the socket used until now stays open for --hop-grace. The slot's
// endpoint object is reused, so a hop allocates nothing once both exist.
template <typename Framing>
void ClientRelay<Framing>::hop_source(Session& s, size_t path, TimePoint now) {
    Path& p = s.paths[path];
    uint8_t next = p.current ^ 1;
    try {
        if (p.up[next]) {
            p.up[next]->reseat(upstream_socket(0));
        } else {
            p.up[next] = open_upstream(s, path, next);
        }
    } catch (const net::NetError& e) {
        // Out of descriptors: keep the source port, hop the destination only.
        spdlog::debug("session {}: no fresh source port: {}", s.peer.to_string(), e.what());
        return;
    }
    p.current = next;
    p.previous_until = now + options_.hop_grace;
}

template <typename Framing>
void ClientRelay<Framing>::path_hopped(Session& s, size_t path, metrics::HopReason reason, TimePoint now) {
    metrics_.add(metrics::Family::hops, reason);
    s.hop_log.record(reason, now);
    s.paths.hopped(path, now);
    if constexpr (Framing::kTraits.hop_source_port) hop_source(s, path, now);
    state_dirty_ = true;
}

// A path that sent but heard nothing while the others did (a blocked port,
// an ISP that blackholes this one flow) moves to another port now.
template <typename Framing>
void ClientRelay<Framing>::replace_stalled_path(Session& s, TimePoint now) {
    auto stalled = s.paths.stalled(now, options_.hop_on_stall);
    if (!stalled) return;
    Path& p = s.paths[*stalled];
    p.hop.hop(now);
    path_hopped(s, *stalled, metrics::HopReason::stall, now);
    spdlog::debug("session {}: path {} stalled, hop to port {}", s.peer.to_string(), *stalled, p.hop.port());
    if constexpr (Framing::kTraits.keepalive) {
        // Tells the server relay about the new flow even if the application is silent.
        net::OutDatagram d = net::OutDatagram::make(framing_.keepalive(s.framing), &p.target);
        if (sender(s, *stalled).is_open()) net::send_batch(sender(s, *stalled).socket(), std::span(&d, 1));
        p.hop.carried(now);
    }
}

template <typename Framing>
void ClientRelay<Framing>::on_downstream_readable() {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = downstream_->receive(batch_);
        if (r.count == 0) break;
        TimePoint now = tick();

        size_t limit = framing_.max_plain(options_.mtu, options_.server_ip);
        std::array<Session*, net::kBatchSize> owners;
        for (size_t i = 0; i < r.count; ++i) {
            owners[i] = nullptr;
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            owners[i] = find_or_open(batch_.source(i), now);
        }

        bool wildcard = options_.listen.is_wildcard();
        bool keep_nudge = !Framing::kTraits.keepalive && options_.hop_on_stall.count() != 0;
        for_each_group(std::span<Session* const>(owners.data(), r.count), [&](Session& s, auto indices) {
            if (wildcard) s.local = batch_.destination(indices.back());
            uint64_t bytes = 0;
            for (size_t i : indices) bytes += batch_.payload(i).size();
            s.adaptive.sent(now, bytes);
            if (keep_nudge) s.nudge.offer(now, batch_.last_datagram(indices.back()));
            size_t path = s.paths.next();
            Path& p = s.paths[path];
            if (auto reason = p.hop.before_send(now, bytes)) {
                path_hopped(s, path, *reason, now);
                // With one path, the stall hop's port is gone untried; with
                // more, the others still answer for it.
                if (s.paths.size() == 1) s.adaptive.scheduled_hop();
                // On the hot path: the peer's text allocates, so only when it is logged.
                if (spdlog::should_log(spdlog::level::debug)) {
                    spdlog::debug("session {}: path {} {} hop to port {}", s.peer.to_string(), path,
                                  metrics::kHopReasonNames[static_cast<size_t>(*reason)], p.hop.port());
                }
            }
            {
                Outbox<Endpoint> out(sender(s, path));
                for (size_t i : indices) {
                    if (!framing_.seal_to(s.framing, batch_, i, &p.target, nullptr, limit, out)) {
                        metrics_.drop(DropReason::oversize);
                    }
                }
            }
            p.last_sent = now;
            s.last_active = now;
            save_state_if_due(s, now);
        });
        if (r.count < net::kBatchSize) break;
    }
}

template <typename Framing>
void ClientRelay<Framing>::on_upstream_readable(Session& s, size_t path, uint8_t slot) {
    Path& own = s.paths[path];
    Endpoint& upstream = *own.up[slot];
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = upstream.receive(batch_);
        if (r.error != 0) {
            metrics_.drop(DropReason::send_error);
            if (!net::is_icmp_error(r.error)) {
                if (slot == own.current) {
                    s.broken = true;  // closed by the next sweep
                } else {
                    upstream.close_socket();
                }
            }
            break;
        }
        if (r.count == 0) break;
        TimePoint now = tick();

        uint64_t bytes = 0;
        bool heard = false;     // a datagram or a piece of one came back
        bool answered = false;  // a keepalive came back: the path works
        bool current = false;   // ... from a port some path sends to now
        {
            Outbox<Endpoint> out(*downstream_);
            for (size_t i = 0; i < r.count; ++i) {
                const net::Address& from = batch_.source(i);
                if (!from.same_ip(options_.server_ip) || !options_.server_ports.contains(from.port())) {
                    metrics_.drop(DropReason::foreign_source, batch_.datagrams(i));
                    continue;
                }
                if (batch_.truncated(i)) {
                    metrics_.drop(DropReason::oversize);
                    continue;
                }
                // The path that sent to this port (none: a port it left,
                // still answering within the server relay's window).
                auto from_path = s.paths.find_port(from.port());
                uint64_t bytes_before = bytes;
                uint32_t segment = Framing::kTraits.whole_runs ? batch_.segment_size(i) : 0;
                for_each_datagram<Framing::kTraits.whole_runs>(batch_, i, [&](std::span<std::byte> datagram) {
                    if (framing_.intercept_reply(s.framing, datagram)) return;
                    DropReason why{};
                    auto opened = framing_.open_reply(s.framing, datagram, why);
                    if (!opened) {
                        metrics_.drop(why);
                        return;
                    }
                    current = current || from_path.has_value();
                    if (Framing::kTraits.keepalive && opened->empty()) {
                        answered = true;  // the server relay's answer, never the application's
                        if (from_path) s.paths[*from_path].last_reply = now;
                        return;
                    }
                    heard = true;
                    opened = framing_.assemble(s.framing, datagram, *opened, now);
                    if (!opened) return;  // a piece
                    net::OutDatagram d = net::OutDatagram::make(*opened, &s.peer, &s.local);
                    d.segment = segment;
                    out.push(d);
                    bytes += opened->size();
                    if (framing_.must_release()) {
                        out.flush();
                        framing_.release_assembled();
                    }
                });
                // By the port it came from: the path's current flow, or an
                // old flow's tail (each path's schedule measures its own).
                if (bytes != bytes_before) {
                    hop_memory_.ports.answered(from.port());
                    if (from_path) {
                        Path& p = s.paths[*from_path];
                        p.hop.received(from.port(), bytes - bytes_before, now);
                        p.last_reply = now;
                    } else {
                        for (Path& p : s.paths) p.hop.received(from.port(), bytes - bytes_before, now);
                    }
                }
            }
            if (heard) s.last_active = now;
            if (heard || answered) {
                // An old flow's tail (the server relay has not heard the
                // session on its new port yet) says nothing of the new port:
                // counted as data, it would hide a blocked one from the stall
                // detector for as long as the tail runs.
                if (current) {
                    s.adaptive.received(bytes);
                } else {
                    s.adaptive.received_tail(bytes);
                }
                s.last_reply = now;
            }
        }
        framing_.release_assembled();  // the outbox above is flushed
        if (r.count < net::kBatchSize) break;
    }
}

// Straight to the kernel, not through the endpoint: a keepalive is not a
// relayed datagram (no counters), and one lost to a full socket buffer is
// simply sent again a second later. The server relay answers it, so it arms
// the stall detector like a send: a silent application (a download-only QUIC
// client) behind a blackholed port still gets its stall hop.
template <typename Framing>
void ClientRelay<Framing>::send_keepalive(Session& s, TimePoint now) {
    if constexpr (Framing::kTraits.keepalive) {
        s.last_keepalive = now;
        s.adaptive.sent(now, 0);
        // On every path: the server relay spreads its replies over the
        // paths it heard from lately.
        for (size_t i = 0; i < s.paths.size(); ++i) {
            Endpoint& up = sender(s, i);
            if (!up.is_open()) continue;
            net::OutDatagram d = net::OutDatagram::make(framing_.keepalive(s.framing), &s.paths[i].target);
            net::send_batch(up.socket(), std::span(&d, 1));
            s.paths[i].hop.carried(now);
        }
        save_state_if_due(s, now);
    }
}

template <typename Framing>
void ClientRelay<Framing>::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
    // At most once a sweep (<= 1 s): hops and new sessions cost one write.
    if ((closed != 0 || state_dirty_) && !options_.state_file.empty()) save_state(now);
    framing_.expire(now);
    size_t paths = 0;
    sessions_.for_each([&](Session& s) {
        s.rate.sample(now, s.adaptive.sent_bytes(), s.adaptive.received_bytes());
        paths += s.paths.size();
        replace_stalled_path(s, now);
        if constexpr (Framing::kTraits.hop_source_port || Framing::kTraits.keepalive) {
            // The previous hops' sockets, once their grace period is over.
            for (Path& p : s.paths) {
                auto& previous = p.up[p.current ^ 1];
                if (previous && previous->is_open() && now >= p.previous_until) previous->close_socket();
            }
            if (now - s.last_reply >= kKeepaliveAfter && now - s.last_keepalive >= kKeepaliveAfter &&
                now - s.last_active < options_.idle_timeout) {
                send_keepalive(s, now);
            }
        }
    });
    metrics_.set(metrics::Family::paths, paths);
}

template <typename Framing>
void ClientRelay<Framing>::save_state(TimePoint now) {
    StateFile file{"client", Framing::kTraits.name, 0, {}};
    file.sessions.reserve(sessions_.size());
    // Path 0 only: the other paths of a restored session take fresh ports.
    sessions_.for_each([&](Session& s) {
        const Path& main = s.paths.main();
        const auto& up = main.up[main.current];
        if (!up || !up->is_open()) return;
        SavedSession& entry = file.sessions.emplace_back();
        entry.peer = s.peer;
        entry.local = s.local;
        entry.upstream_port = up->socket().local_address().port();
        entry.server_port = s.hop.port();
        framing_.save(s.framing, entry);
    });
    if (write_state_file(options_.state_file, file)) {
        // The counters saved with their margin may now be used.
        size_t i = 0;
        sessions_.for_each([&](Session& s) {
            const Path& main = s.paths.main();
            if (main.up[main.current] && main.up[main.current]->is_open()) {
                framing_.saved(s.framing, file.sessions[i++]);
            }
        });
    } else {
        spdlog::warn("cannot write --state-file {}: {}", options_.state_file, std::strerror(errno));
    }
    state_dirty_ = false;
    state_written_ = now;
}

// A session-mode send counter near its saved margin: saved again before it
// gets there (on the datagram path, once per kCounterMargin / 2 datagrams).
template <typename Framing>
void ClientRelay<Framing>::save_state_if_due(const Session& s, TimePoint now) {
    if (framing_.save_due(s.framing) && !options_.state_file.empty() && now - state_written_ >= kStateSaveGap) {
        save_state(now);
    }
}

// Each saved session comes back on its upstream socket's old local port and
// its server port: the server relay (plain mode: keyed by this address; session
// mode: by the id) keeps sending to the same 4-tuple, and the application's
// next datagram finds its session. A download-only QUIC client sends nothing
// until data arrives, so a session-mode session announces itself at once with
// a keepalive (the server relay follows it and answers); in plain mode the
// same port is the announcement: the server relay never lost the session.
template <typename Framing>
void ClientRelay<Framing>::restore_state(TimePoint now) {
    StateFile file = read_state_file(options_.state_file, "client", Framing::kTraits.name, options_.idle_timeout);
    restore_sessions(file.sessions, options_.state_file, [&](const SavedSession& saved) {
        if (sessions_.full() || sessions_.find(saved.peer) != nullptr) return false;
        auto s = std::make_unique<Session>(saved.peer,
                                           PathSet(options_.paths, hop_policy_, options_.server_ports.ports, rng_, now,
                                                   options_.server_ip, &hop_memory_),
                                           framing_.restore(saved), now);
        s->hop.resume_on(saved.server_port);
        s->target.set_port(s->hop.port());
        s->local = saved.local;
        s->paths.main().up[0] = open_upstream(*s, 0, 0, saved.upstream_port);
        if constexpr (Framing::kTraits.hop_source_port) {
            for (size_t i = 1; i < s->paths.size(); ++i) s->paths[i].up[0] = open_upstream(*s, i, 0);
        }
        sessions_.insert(saved.peer, std::move(s));
        return true;
    });
    // Before anything is sent: every restored session's counter margin is on
    // disk.
    save_state(now);
    state_written_ = TimePoint{};  // the first new session is saved at once, not 100 ms later
    sessions_.for_each([&](Session& s) { send_keepalive(s, now); });
}

template <typename Framing>
SessionsReport ClientRelay<Framing>::report_sessions(size_t limit) const {
    return report_of(sessions_, limit, Framing::kTraits.name, [](const Session& s, SessionReport& r, TimePoint now) {
        r.ports = s.paths.ports();
        r.bytes_up = s.adaptive.sent_bytes();
        r.bytes_down = s.adaptive.received_bytes();
        r.hops = s.hop_log.report(now);
        r.hops->port_seconds = std::chrono::duration<double>(now - s.hop.hopped_at()).count();
        r.hops->port_bytes = s.hop.bytes_on_port();
    });
}

template <typename Framing>
void ClientRelay<Framing>::on_runtime_options(TimePoint now) {
    hop_policy_ = HopPolicy{options_.hop_interval, options_.hop_jitter, options_.hop_bytes};
    new_sessions_.set_rate(options_.new_session_rate);
    sessions_.set_max(options_.max_sessions);
    sessions_.for_each([&](Session& s) {
        for (Path& p : s.paths) p.hop.set_policy(hop_policy_, now);
    });
}

template <typename Framing>
void ClientRelay<Framing>::adapt(TimePoint now) {
    hop_memory_.thresholds.refresh(now);
    adapt_sessions(sessions_, now, [&](Session& s, metrics::HopReason reason) {
        state_dirty_ = true;
        // Once the new port answers, the relay learns from the flow left
        // (relay/hop_memory.hpp): a blocked port, or the ISP's thresholds.
        bool stall = reason == metrics::HopReason::stall;
        s.hop.blame_previous_flow(stall ? Clock::duration(options_.hop_on_stall) : kSlowdownDetection, !stall);
        // Relay::adapt_sessions moved the main path and counted the hop; a
        // stall (nothing came back on any path) moves every path.
        s.paths.hopped(0, now);
        if constexpr (Framing::kTraits.hop_source_port) hop_source(s, 0, now);
        if (stall) {
            for (size_t i = 1; i < s.paths.size(); ++i) {
                s.paths[i].hop.hop(now);
                path_hopped(s, i, reason, now);
            }
        }
        if constexpr (Framing::kTraits.keepalive) {
            // A hop moves the destination (and the source port); a keepalive
            // at once tells the server relay where the session is now, even
            // if the application is silent (a download-only QUIC client).
            send_keepalive(s, now);
        } else if (reason == metrics::HopReason::stall && !s.nudge.datagram().empty()) {
            // Only after a stall: a slowdown leaves the flow trickling, so
            // the application's next datagram (a QUIC ACK) moves the return
            // path within moments, and a false slowdown hop must not
            // duplicate the application's data.
            net::OutDatagram d = net::OutDatagram::make(s.nudge.datagram(), &s.target);
            sender(s, 0).transmit(std::span(&d, 1));
            s.paths[0].hop.carried(now);
        }
        spdlog::debug("session {}: {} hop to port {}", s.peer.to_string(),
                      metrics::kHopReasonNames[static_cast<size_t>(reason)], s.hop.port());
    });
}

template class ClientRelay<PlainFraming>;
template class ClientRelay<SessionFraming>;

}  // namespace porthop::relay
