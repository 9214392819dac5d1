#include "relay/session_server_relay.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "relay/batch_groups.hpp"
#include "relay/session_mtu.hpp"

namespace porthop::relay {

using metrics::Direction;
using metrics::DropReason;

SessionServerRelay::SessionServerRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                                       const crypto::Key& psk)
    : Relay(base, metrics, options),
      rx_(psk, crypto::Direction::client_to_server),
      tx_(psk, crypto::Direction::server_to_client),
      probe_(base, metrics, psk, options.mtu, listeners_),
      new_sessions_(options.new_session_rate),
      sessions_(metrics, options.max_sessions) {
    listeners_ = open_port_set_listeners([this](size_t index) { on_listener_readable(index); });
    spdlog::info("server relay (session mode) listening on {} ports {} ({} sockets), upstream {}",
                 options.listen_ip.ip_string(), options.listen_ports.to_string(), listeners_.size(),
                 options.upstream.to_string());
}

SessionServerRelay::~SessionServerRelay() { shutdown(); }

void SessionServerRelay::shutdown() {
    sessions_.close_all(metrics::CloseReason::shutdown);
    listeners_.clear();
}

std::vector<net::Address> SessionServerRelay::session_peers() {
    std::vector<net::Address> peers;
    sessions_.for_each([&](Session& s) { peers.push_back(s.peer); });
    return peers;
}

SessionServerRelay::Session* SessionServerRelay::open_session(uint64_t id, const net::Address& source, TimePoint now) {
    if (sessions_.full() || !new_sessions_.allow(source, now)) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        auto socket = open_socket(options_.upstream.family());
        socket.connect(options_.upstream);
        auto s = std::make_unique<Session>();
        Session* raw = s.get();
        s->id = id;
        s->last_active = now;
        s->upstream = std::make_unique<Endpoint>(endpoints_, std::move(socket), Direction::upstream,
                                                 [this, raw] { on_upstream_readable(*raw); });
        spdlog::debug("session {:016x} opened from {}", id, source.to_string());
        return &sessions_.insert(id, std::move(s));
    } catch (const net::NetError& e) {
        spdlog::debug("cannot open session {:016x}: {}", id, e.what());
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
}

void SessionServerRelay::on_listener_readable(size_t index) {
    Endpoint& listener = *listeners_[index];
    bool wildcard = options_.listen_ip.is_wildcard();
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = listener.receive(batch_);
        if (r.count == 0) break;
        TimePoint now = tick();

        std::array<Session*, net::kBatchSize> owners;
        std::array<std::span<std::byte>, net::kBatchSize> plain;
        for (size_t i = 0; i < r.count; ++i) {
            owners[i] = nullptr;
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            std::span<std::byte> datagram = batch_.payload(i);
            if (!datagram.empty() && datagram[0] == std::byte{crypto::kProbeVersion}) {
                probe_.on_datagram(datagram, batch_.source(i), wildcard ? batch_.destination(i) : net::Address{},
                                   index, now);
                continue;
            }
            auto header = crypto::parse_header(datagram);
            if (!header) {
                metrics_.drop(DropReason::malformed);
                continue;
            }
            Session* s = sessions_.find(header->session_id);
            if (s != nullptr && !s->window.check(header->counter)) {
                metrics_.drop(DropReason::replay);
                continue;
            }
            // The tag is verified before an unknown id costs anything.
            auto opened = rx_.open(datagram, *header);
            if (!opened) {
                metrics_.drop(DropReason::auth);
                continue;
            }
            if (s == nullptr && (s = open_session(header->session_id, batch_.source(i), now)) == nullptr) continue;
            s->window.accept(header->counter);
            // Roaming: replies follow the latest valid datagram.
            s->peer = batch_.source(i);
            s->listener = index;
            if (wildcard) s->local = batch_.destination(i);
            s->last_active = now;
            if (opened->empty()) continue;  // a keepalive: roaming only, nothing to relay
            owners[i] = s;
            plain[i] = *opened;
        }

        for_each_group(std::span<Session* const>(owners.data(), r.count), [&](Session& s, auto indices) {
            std::array<net::OutDatagram, net::kBatchSize> out;
            size_t n = 0;
            for (size_t i : indices) out[n++] = net::OutDatagram::make(plain[i], nullptr);
            s.last_active = now;
            s.upstream->transmit(std::span(out.data(), n));
        });
        if (r.count < net::kBatchSize) break;
    }
}

void SessionServerRelay::on_upstream_readable(Session& s) {
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = s.upstream->receive(batch_);
        if (r.error != 0) {
            metrics_.drop(DropReason::send_error);
            if (!net::is_icmp_error(r.error)) s.broken = true;
            break;
        }
        if (r.count == 0) break;
        TimePoint now = tick();

        size_t limit = max_framed_payload(options_.mtu, s.peer);
        std::array<net::OutDatagram, net::kBatchSize> out;
        size_t n = 0;
        for (size_t i = 0; i < r.count; ++i) {
            size_t size = batch_.payload(i).size();
            if (batch_.truncated(i) || size + crypto::kOverhead > limit) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            auto framed = tx_.seal(batch_.data(i), size, s.id, s.send_counter++);
            out[n++] = net::OutDatagram::make(framed, &s.peer, &s.local);
        }
        if (listeners_.empty()) return;  // shutting down
        listeners_[s.listener]->transmit(std::span(out.data(), n));
        s.last_active = now;
        if (r.count < net::kBatchSize) break;
    }
}

void SessionServerRelay::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
}

void SessionServerRelay::on_runtime_options(TimePoint) {
    new_sessions_.set_rate(options_.new_session_rate);
    sessions_.set_max(options_.max_sessions);
}

}  // namespace porthop::relay
