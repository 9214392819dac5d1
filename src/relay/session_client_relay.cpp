#include "relay/session_client_relay.hpp"

#include <spdlog/spdlog.h>

#include "relay/batch_groups.hpp"
#include "relay/session_mtu.hpp"

namespace porthop::relay {

using metrics::Direction;
using metrics::DropReason;

SessionClientRelay::SessionClientRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                                       const crypto::Key& psk)
    : Relay(base, metrics, options),
      tx_(psk, crypto::Direction::client_to_server),
      rx_(psk, crypto::Direction::server_to_client),
      hop_policy_{options.hop_interval, options.hop_jitter, options.hop_bytes},
      new_sessions_(options.new_session_rate),
      sessions_(metrics, options.max_sessions) {
    downstream_ = open_listener(options.listen, [this] { on_downstream_readable(); });
    spdlog::info("client relay (session mode) listening on {}, server {} ports {}", listen_address().to_string(),
                 options.server_ip.ip_string(), options.server_ports.to_string());
}

SessionClientRelay::~SessionClientRelay() { shutdown(); }

net::Address SessionClientRelay::listen_address() const {
    return downstream_ ? downstream_->socket().local_address() : net::Address{};
}

void SessionClientRelay::shutdown() {
    sessions_.close_all(metrics::CloseReason::shutdown);
    downstream_.reset();
}

size_t SessionClientRelay::upstream_sockets() {
    size_t n = 0;
    sessions_.for_each([&](Session& s) {
        for (auto& e : s.up) n += e && e->is_open() ? 1 : 0;
    });
    return n;
}

net::UdpSocket SessionClientRelay::open_upstream_socket() const {
    return open_socket(options_.server_ip.family());
}

SessionClientRelay::Session* SessionClientRelay::find_or_open(const net::Address& peer, TimePoint now) {
    if (Session* s = sessions_.find(peer)) return s;
    if (sessions_.full() || !new_sessions_.allow(peer, now)) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        auto socket = open_upstream_socket();
        auto s = std::make_unique<Session>(peer, options_.server_ip,
                                           HopSchedule(hop_policy_, options_.server_ports.ports, rng_, now), now);
        Session* raw = s.get();
        s->id = crypto::random_session_id();
        s->last_active = now;
        s->last_reply = now;
        s->target.set_port(s->hop.port());
        s->up[0] = std::make_unique<Endpoint>(endpoints_, std::move(socket), Direction::upstream,
                                              [this, raw] { on_upstream_readable(*raw, 0); });
        spdlog::debug("session {} opened, id {:016x}, first port {}", peer.to_string(), s->id, s->hop.port());
        return &sessions_.insert(peer, std::move(s));
    } catch (const net::NetError& e) {
        spdlog::debug("cannot open a session for {}: {}", peer.to_string(), e.what());
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
}

// Moves the session to a fresh source port: the other slot's socket (a
// previous hop's, if still in grace) is replaced by a new one, which becomes
// current; the socket used until now stays open for --hop-grace. The slot's
// endpoint object is reused, so a hop allocates nothing once both exist.
void SessionClientRelay::hop_source(Session& s, TimePoint now) {
    uint8_t next = s.current ^ 1;
    try {
        auto socket = open_upstream_socket();
        if (s.up[next]) {
            s.up[next]->reseat(std::move(socket));
        } else {
            Session* raw = &s;
            s.up[next] = std::make_unique<Endpoint>(endpoints_, std::move(socket), Direction::upstream,
                                                    [this, raw, next] { on_upstream_readable(*raw, next); });
        }
    } catch (const net::NetError& e) {
        // Out of descriptors: keep the source port, hop the destination only.
        spdlog::debug("session {}: no fresh source port: {}", s.peer.to_string(), e.what());
        return;
    }
    s.current = next;
    s.previous_until = now + options_.hop_grace;
}

void SessionClientRelay::on_downstream_readable() {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = downstream_->receive(batch_);
        if (r.count == 0) break;
        TimePoint now = tick();

        size_t limit = max_framed_payload(options_.mtu, options_.server_ip);
        std::array<Session*, net::kBatchSize> owners;
        for (size_t i = 0; i < r.count; ++i) {
            owners[i] = nullptr;
            if (batch_.truncated(i) || batch_.payload(i).size() + crypto::kOverhead > limit) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            owners[i] = find_or_open(batch_.source(i), now);
        }

        bool wildcard = options_.listen.is_wildcard();
        for_each_group(std::span<Session* const>(owners.data(), r.count), [&](Session& s, auto indices) {
            if (wildcard) s.local = batch_.destination(indices.back());
            uint64_t bytes = 0;
            for (size_t i : indices) bytes += batch_.payload(i).size();
            s.adaptive.sent(now, bytes);
            if (auto reason = s.hop.before_send(now, bytes)) {
                metrics_.add(metrics::Family::hops, *reason);
                s.target.set_port(s.hop.port());
                hop_source(s, now);
            }
            std::array<net::OutDatagram, net::kBatchSize> out;
            size_t n = 0;
            for (size_t i : indices) {
                auto framed = tx_.seal(batch_.data(i), batch_.payload(i).size(), s.id, s.send_counter++);
                out[n++] = net::OutDatagram::make(framed, &s.target);
            }
            s.up[s.current]->transmit(std::span(out.data(), n));
            s.last_active = now;
        });
        if (r.count < net::kBatchSize) break;
    }
}

void SessionClientRelay::on_upstream_readable(Session& s, uint8_t slot) {
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

        std::array<net::OutDatagram, net::kBatchSize> out;
        size_t n = 0;
        uint64_t bytes = 0;
        for (size_t i = 0; i < r.count; ++i) {
            const net::Address& from = batch_.source(i);
            if (!from.same_ip(options_.server_ip) || !options_.server_ports.contains(from.port())) {
                metrics_.drop(DropReason::foreign_source);
                continue;
            }
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            std::span<std::byte> datagram = batch_.payload(i);
            auto header = crypto::parse_header(datagram);
            if (!header) {
                metrics_.drop(DropReason::malformed);
                continue;
            }
            if (header->session_id != s.id) {
                metrics_.drop(DropReason::auth);
                continue;
            }
            if (!s.window.check(header->counter)) {
                metrics_.drop(DropReason::replay);
                continue;
            }
            auto opened = rx_.open(datagram, *header);
            if (!opened) {
                metrics_.drop(DropReason::auth);
                continue;
            }
            s.window.accept(header->counter);
            out[n++] = net::OutDatagram::make(*opened, &s.peer, &s.local);
            bytes += opened->size();
        }
        if (n != 0) {
            s.hop.received(bytes);
            s.adaptive.received(bytes);
            downstream_->transmit(std::span(out.data(), n));
            s.last_active = now;
            s.last_reply = now;
        }
        if (r.count < net::kBatchSize) break;
    }
}

void SessionClientRelay::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
    sessions_.for_each([&](Session& s) {
        // The previous hop's socket, once its grace period is over.
        auto& previous = s.up[s.current ^ 1];
        if (previous && previous->is_open() && now >= s.previous_until) previous->close_socket();
        if (now - s.last_reply >= kKeepaliveAfter && now - s.last_keepalive >= kKeepaliveAfter &&
            now - s.last_active < options_.idle_timeout) {
            send_keepalive(s);
            s.last_keepalive = now;
        }
    });
}

// Straight to the kernel, not through the endpoint: a keepalive is not a
// relayed datagram (no counters), and one lost to a full socket buffer is
// simply sent again a second later.
void SessionClientRelay::send_keepalive(Session& s) {
    Endpoint& up = *s.up[s.current];
    if (!up.is_open()) return;
    auto framed = tx_.seal(keepalive_buf_.data() + crypto::kHeaderSize, 0, s.id, s.send_counter++);
    net::OutDatagram d = net::OutDatagram::make(framed, &s.target);
    net::send_batch(up.socket(), std::span(&d, 1));
}

void SessionClientRelay::on_runtime_options(TimePoint now) {
    hop_policy_ = HopPolicy{options_.hop_interval, options_.hop_jitter, options_.hop_bytes};
    new_sessions_.set_rate(options_.new_session_rate);
    sessions_.set_max(options_.max_sessions);
    sessions_.for_each([&](Session& s) { s.hop.set_policy(hop_policy_, now); });
}

// A hop moves the destination and the source port; a keepalive at once tells
// the server relay where the session is now, even if the application is
// silent (a download-only QUIC client that is waiting for data).
void SessionClientRelay::adapt(TimePoint now) {
    adapt_sessions(sessions_, now, [&](Session& s, metrics::HopReason reason) {
        hop_source(s, now);
        send_keepalive(s);
        s.last_keepalive = now;
        spdlog::debug("session {} (id {:016x}): {} hop to port {}", s.peer.to_string(), s.id,
                      metrics::kHopReasonNames[static_cast<size_t>(reason)], s.hop.port());
    });
}

}  // namespace porthop::relay
