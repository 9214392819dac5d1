#include "relay/client_relay.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "relay/batch_groups.hpp"

namespace porthop::relay {

using metrics::Direction;
using metrics::DropReason;

ClientRelay::ClientRelay(event_base& base, metrics::Registry& metrics, const config::Options& options)
    : Relay(base, metrics, options),
      hop_policy_{options.hop_interval, options.hop_jitter, options.hop_bytes},
      new_sessions_(options.new_session_rate),
      sessions_(metrics, options.max_sessions) {
    downstream_ = open_listener(options.listen, [this] { on_downstream_readable(); });
    spdlog::info("client relay listening on {}, server {} ports {}", listen_address().to_string(),
                 options.server_ip.ip_string(), options.server_ports.to_string());
}

ClientRelay::~ClientRelay() { shutdown(); }

net::Address ClientRelay::listen_address() const {
    return downstream_ ? downstream_->socket().local_address() : net::Address{};
}

void ClientRelay::shutdown() {
    sessions_.close_all(metrics::CloseReason::shutdown);
    downstream_.reset();
}

ClientRelay::Session* ClientRelay::find_or_open(const net::Address& peer, TimePoint now) {
    if (Session* s = sessions_.find(peer)) return s;
    if (sessions_.full() || !new_sessions_.allow(peer, now)) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        auto socket = open_socket(options_.server_ip.family());
        auto s = std::make_unique<Session>(Session{
            peer, net::Address{}, options_.server_ip, HopSchedule(hop_policy_, options_.server_ports.ports, rng_, now),
            AdaptiveHops(now), nullptr, HopNudge{}, now, now});
        Session* raw = s.get();
        s->target.set_port(s->hop.port());
        s->upstream = std::make_unique<Endpoint>(endpoints_, std::move(socket), Direction::upstream,
                                                 [this, raw] { on_upstream_readable(*raw); });
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

void ClientRelay::on_downstream_readable() {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = downstream_->receive(batch_);
        if (r.count == 0) break;
        TimePoint now = tick();

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
        bool keep_nudge = options_.hop_on_stall.count() != 0;
        for_each_group(std::span<Session* const>(owners.data(), r.count), [&](Session& s, auto indices) {
            if (wildcard) s.local = batch_.destination(indices.back());
            uint64_t bytes = 0;
            for (size_t i : indices) bytes += batch_.payload(i).size();
            s.adaptive.sent(now, bytes);
            if (keep_nudge) s.nudge.offer(now, batch_.last_datagram(indices.back()));
            if (auto reason = s.hop.before_send(now, bytes)) {
                metrics_.add(metrics::Family::hops, *reason);
                s.target.set_port(s.hop.port());
            }
            std::array<net::OutDatagram, net::kBatchSize> out;
            size_t n = 0;
            for (size_t i : indices) out[n++] = batch_.out(i, &s.target);
            s.upstream->transmit(std::span(out.data(), n));
            s.last_active = now;
        });
        if (r.count < net::kBatchSize) break;
    }
}

void ClientRelay::on_upstream_readable(Session& s) {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = s.upstream->receive(batch_);
        if (r.error != 0) {
            metrics_.drop(DropReason::send_error);
            if (!net::is_icmp_error(r.error)) s.broken = true;  // closed by the next sweep
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
                metrics_.drop(DropReason::foreign_source, batch_.datagrams(i));
                continue;
            }
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            out[n++] = batch_.out(i, &s.peer, &s.local);
            bytes += batch_.payload(i).size();
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

void ClientRelay::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
}

void ClientRelay::on_runtime_options(TimePoint now) {
    hop_policy_ = HopPolicy{options_.hop_interval, options_.hop_jitter, options_.hop_bytes};
    new_sessions_.set_rate(options_.new_session_rate);
    sessions_.set_max(options_.max_sessions);
    sessions_.for_each([&](Session& s) { s.hop.set_policy(hop_policy_, now); });
}

void ClientRelay::adapt(TimePoint now) {
    adapt_sessions(sessions_, now, [&](Session& s, metrics::HopReason reason) {
        // Only after a stall: a slowdown leaves the flow trickling, so the
        // application's next datagram (a QUIC ACK) moves the return path
        // within moments, and a false slowdown hop must not duplicate the
        // application's data.
        if (reason == metrics::HopReason::stall && !s.nudge.datagram().empty()) {
            net::OutDatagram d = net::OutDatagram::make(s.nudge.datagram(), &s.target);
            s.upstream->transmit(std::span(&d, 1));
        }
        spdlog::debug("session {}: {} hop to port {}", s.peer.to_string(),
                      metrics::kHopReasonNames[static_cast<size_t>(reason)], s.hop.port());
    });
}

}  // namespace porthop::relay
