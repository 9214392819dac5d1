#include "relay/client_relay.hpp"

#include <spdlog/spdlog.h>

#include <array>

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
      hop_policy_{options.hop_interval, options.hop_jitter, options.hop_bytes},
      new_sessions_(options.new_session_rate),
      sessions_(metrics, options.max_sessions) {
    downstream_ = open_listener(
        options.listen, [this] { on_downstream_readable(); }, Framing::kTraits.coalesce_plain);
    spdlog::info("client relay ({} mode) listening on {}, server {} ports {}", Framing::kTraits.name,
                 listen_address().to_string(), options.server_ip.ip_string(), options.server_ports.to_string());
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
    sessions_.close_all(metrics::CloseReason::shutdown);
    downstream_.reset();
}

template <typename Framing>
size_t ClientRelay<Framing>::upstream_sockets() {
    size_t n = 0;
    sessions_.for_each([&](Session& s) {
        for (auto& e : s.up) n += e && e->is_open() ? 1 : 0;
    });
    return n;
}

template <typename Framing>
std::unique_ptr<Endpoint> ClientRelay<Framing>::open_upstream(Session& s, uint8_t slot) {
    Session* raw = &s;
    return std::make_unique<Endpoint>(
        endpoints_, open_socket(options_.server_ip.family()), Direction::upstream,
        [this, raw, slot] { on_upstream_readable(*raw, slot); }, false, Framing::kTraits.coalesce_framed);
}

template <typename Framing>
typename ClientRelay<Framing>::Session* ClientRelay<Framing>::find_or_open(const net::Address& peer, TimePoint now) {
    if (Session* s = sessions_.find(peer)) return s;
    if (sessions_.full() || !new_sessions_.allow(peer, now)) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        auto s = std::make_unique<Session>(
            peer, options_.server_ip, HopSchedule(hop_policy_, options_.server_ports.ports, rng_, now, &hop_memory_),
            framing_.new_client_state(), now);
        s->target.set_port(s->hop.port());
        s->up[0] = open_upstream(*s, 0);
        spdlog::debug("session {} opened, first port {}", peer.to_string(), s->hop.port());
        return &sessions_.insert(peer, std::move(s));
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
void ClientRelay<Framing>::hop_source(Session& s, TimePoint now) {
    uint8_t next = s.current ^ 1;
    try {
        if (s.up[next]) {
            s.up[next]->reseat(open_socket(options_.server_ip.family()));
        } else {
            s.up[next] = open_upstream(s, next);
        }
    } catch (const net::NetError& e) {
        // Out of descriptors: keep the source port, hop the destination only.
        spdlog::debug("session {}: no fresh source port: {}", s.peer.to_string(), e.what());
        return;
    }
    s.current = next;
    s.previous_until = now + options_.hop_grace;
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
            if (batch_.truncated(i) || batch_.payload(i).size() > limit) {
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
            if (auto reason = s.hop.before_send(now, bytes)) {
                metrics_.add(metrics::Family::hops, *reason);
                s.hop_log.record(*reason, now);
                s.target.set_port(s.hop.port());
                if constexpr (Framing::kTraits.hop_source_port) hop_source(s, now);
            }
            std::array<net::OutDatagram, net::kBatchSize> out;
            size_t n = 0;
            for (size_t i : indices) out[n++] = framing_.seal(s.framing, batch_, i, &s.target);
            s.up[s.current]->transmit(std::span(out.data(), n));
            s.last_active = now;
        });
        if (r.count < net::kBatchSize) break;
    }
}

template <typename Framing>
void ClientRelay<Framing>::on_upstream_readable(Session& s, uint8_t slot) {
    Endpoint& upstream = *s.up[slot];
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = upstream.receive(batch_);
        if (r.error != 0) {
            metrics_.drop(DropReason::send_error);
            if (!net::is_icmp_error(r.error)) {
                if (slot == s.current) {
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
        size_t relayed = 0;
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
                uint32_t segment = Framing::kTraits.whole_runs ? batch_.segment_size(i) : 0;
                uint64_t entry_bytes = bytes;
                for_each_datagram<Framing::kTraits.whole_runs>(batch_, i, [&](std::span<std::byte> datagram) {
                    DropReason why{};
                    auto opened = framing_.open_reply(s.framing, datagram, why);
                    if (!opened) {
                        metrics_.drop(why);
                        return;
                    }
                    net::OutDatagram d = net::OutDatagram::make(*opened, &s.peer, &s.local);
                    d.segment = segment;
                    out.push(d);
                    bytes += opened->size();
                    ++relayed;
                });
                // By the port it came from: the current flow's, or an old
                // flow's tail (the hop schedule measures both).
                s.hop.received(from.port(), bytes - entry_bytes, now);
                if (bytes != entry_bytes) hop_memory_.ports.answered(from.port());
            }
            if (relayed != 0) {
                s.adaptive.received(bytes);
                s.last_active = now;
                s.last_reply = now;
            }
        }
        if (r.count < net::kBatchSize) break;
    }
}

// Straight to the kernel, not through the endpoint: a keepalive is not a
// relayed datagram (no counters), and one lost to a full socket buffer is
// simply sent again a second later.
template <typename Framing>
void ClientRelay<Framing>::send_keepalive(Session& s, TimePoint now) {
    if constexpr (Framing::kTraits.keepalive) {
        s.last_keepalive = now;
        Endpoint& up = *s.up[s.current];
        if (!up.is_open()) return;
        net::OutDatagram d = net::OutDatagram::make(framing_.keepalive(s.framing), &s.target);
        net::send_batch(up.socket(), std::span(&d, 1));
    }
}

template <typename Framing>
void ClientRelay<Framing>::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
    sessions_.for_each([&](Session& s) {
        s.rate.sample(now, s.adaptive.sent_bytes(), s.adaptive.received_bytes());
        if constexpr (Framing::kTraits.hop_source_port || Framing::kTraits.keepalive) {
            // The previous hop's socket, once its grace period is over.
            auto& previous = s.up[s.current ^ 1];
            if (previous && previous->is_open() && now >= s.previous_until) previous->close_socket();
            if (now - s.last_reply >= kKeepaliveAfter && now - s.last_keepalive >= kKeepaliveAfter &&
                now - s.last_active < options_.idle_timeout) {
                send_keepalive(s, now);
            }
        }
    });
}

template <typename Framing>
SessionsReport ClientRelay<Framing>::report_sessions(size_t limit) const {
    return report_of(sessions_, limit, Framing::kTraits.name, [](const Session& s, SessionReport& r, TimePoint now) {
        r.ports = {s.hop.port()};
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
    sessions_.for_each([&](Session& s) { s.hop.set_policy(hop_policy_, now); });
}

template <typename Framing>
void ClientRelay<Framing>::adapt(TimePoint now) {
    hop_memory_.thresholds.refresh(now);
    adapt_sessions(sessions_, now, [&](Session& s, metrics::HopReason reason) {
        // Once the new port answers, the relay learns from the flow left
        // (relay/hop_memory.hpp): a blocked port, or the ISP's thresholds.
        bool stall = reason == metrics::HopReason::stall;
        s.hop.blame_previous_flow(stall ? Clock::duration(options_.hop_on_stall) : kSlowdownDetection, !stall);
        if constexpr (Framing::kTraits.hop_source_port) hop_source(s, now);
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
            s.up[s.current]->transmit(std::span(&d, 1));
        }
        spdlog::debug("session {}: {} hop to port {}", s.peer.to_string(),
                      metrics::kHopReasonNames[static_cast<size_t>(reason)], s.hop.port());
    });
}

template class ClientRelay<PlainFraming>;
template class ClientRelay<SessionFraming>;

}  // namespace porthop::relay
