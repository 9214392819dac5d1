#include "relay/server_relay.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "relay/batch_groups.hpp"
#include "relay/session_state_file.hpp"

namespace porthop::relay {

using metrics::Direction;
using metrics::DropReason;

ServerRelay::ServerRelay(event_base& base, metrics::Registry& metrics, const config::Options& options)
    : Relay(base, metrics, options), new_sessions_(options.new_session_rate), sessions_(metrics, options.max_sessions) {
    listeners_ = open_port_set_listeners([this](size_t index) { on_listener_readable(index); });
    spdlog::info("server relay listening on {} ports {} ({} sockets), upstream {}", options.listen_ip.ip_string(),
                 options.listen_ports.to_string(), listeners_.size(), options.upstream.to_string());
    if (!options.state_file.empty()) restore_state(Clock::now());
}

ServerRelay::~ServerRelay() { shutdown(); }

void ServerRelay::shutdown() {
    // Keep the sessions in the state file: a restart (systemctl restart,
    // an upgrade) takes them back.
    if (!listeners_.empty() && !options_.state_file.empty()) save_state(Clock::now());
    sessions_.close_all(metrics::CloseReason::shutdown);
    listeners_.clear();
}

ServerRelay::Session* ServerRelay::find_or_open(const net::Address& peer, TimePoint now) {
    if (Session* s = sessions_.find(peer)) {
        s->batch = batch_seq_;
        return s;
    }
    if (!new_sessions_.allow(peer, now) || (sessions_.full() && !evict_unanswered(now))) {
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
    try {
        Session& s = open_session(peer, 0, now);
        s.batch = batch_seq_;
        return &s;
    } catch (const net::NetError& e) {
        spdlog::debug("cannot open a session for {}: {}", peer.to_string(), e.what());
        metrics_.drop(DropReason::session_limit);
        return nullptr;
    }
}

bool ServerRelay::evict_unanswered(TimePoint now) {
    // A full table under a flood of spoofed sources holds sessions the QUIC
    // server never answered (it ignores garbage); one of those, at least a
    // second old, makes room for a newcomer, so a flood cannot lock new
    // legitimate connections out. Answered sessions are never evicted, nor
    // sessions that the batch being handled still points to.
    return sessions_.evict_one(
        [&](const Session& s) {
            return !s.answered && s.batch != batch_seq_ && now - s.opened >= std::chrono::seconds(1);
        },
        kEvictionScan);
}

ServerRelay::Session& ServerRelay::open_session(const net::Address& peer, uint16_t local_port, TimePoint now) {
    auto socket = open_socket(options_.upstream.family());
    if (local_port != 0) {
        auto any = net::Address::parse_ip(options_.upstream.is_v6() ? "::" : "0.0.0.0", local_port);
        socket.bind(*any);
    }
    socket.connect(options_.upstream);
    auto s = std::make_unique<Session>(Session{peer, net::Address{}, nullptr, 0, now, false, false, now, 0});
    Session* raw = s.get();
    s->upstream = std::make_unique<Endpoint>(endpoints_, std::move(socket), Direction::upstream,
                                             [this, raw] { on_upstream_readable(*raw); });
    spdlog::debug("session {} opened", peer.to_string());
    Session& session = sessions_.insert(peer, std::move(s));
    // A new session is saved at once (a crash a moment later must not lose
    // it), but at most ten times a second: a flood of new sessions waits for
    // the sweep.
    state_dirty_ = true;
    if (!options_.state_file.empty() && now - state_written_ >= std::chrono::milliseconds(100)) save_state(now);
    return session;
}

void ServerRelay::save_state(TimePoint now) {
    std::vector<SavedSession> saved;
    saved.reserve(sessions_.size());
    sessions_.for_each([&](Session& s) {
        saved.push_back({s.peer, s.upstream->socket().local_address().port(), s.listener, s.local});
    });
    if (!write_session_state(options_.state_file, saved)) {
        spdlog::warn("cannot write --state-file {}: {}", options_.state_file, std::strerror(errno));
    }
    state_dirty_ = false;
    state_written_ = now;
}

void ServerRelay::restore_state(TimePoint now) {
    size_t restored = 0;
    for (const SavedSession& saved : read_session_state(options_.state_file)) {
        if (sessions_.full() || sessions_.find(saved.peer) != nullptr) continue;
        try {
            Session& s = open_session(saved.peer, saved.upstream_port, now);
            s.listener = saved.listener < listeners_.size() ? saved.listener : 0;
            s.answered = true;  // it carried traffic before the restart
            s.local = saved.local;
            ++restored;
        } catch (const net::NetError& e) {
            spdlog::warn("cannot restore session {}: {}", saved.peer.to_string(), e.what());
        }
    }
    if (restored != 0) spdlog::info("restored {} sessions from {}", restored, options_.state_file);
}

void ServerRelay::on_listener_readable(size_t index) {
    Endpoint& listener = *listeners_[index];
    for (int round = 0; round < kBatchesPerWakeup; ++round) {
        auto r = listener.receive(batch_);
        if (r.count == 0) break;
        TimePoint now = tick();
        ++batch_seq_;

        std::array<Session*, net::kBatchSize> owners;
        for (size_t i = 0; i < r.count; ++i) {
            owners[i] = nullptr;
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            owners[i] = find_or_open(batch_.source(i), now);
        }

        bool wildcard = options_.listen_ip.is_wildcard();
        for_each_group(std::span<Session* const>(owners.data(), r.count), [&](Session& s, auto indices) {
            std::array<net::OutDatagram, net::kBatchSize> out;
            size_t n = 0;
            for (size_t i : indices) out[n++] = batch_.out(i, nullptr);
            s.listener = index;
            if (wildcard) s.local = batch_.destination(indices.back());
            s.last_active = now;
            s.upstream->transmit(std::span(out.data(), n));
        });
        if (r.count < net::kBatchSize) break;
    }
}

void ServerRelay::on_upstream_readable(Session& s) {
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

        std::array<net::OutDatagram, net::kBatchSize> out;
        size_t n = 0;
        for (size_t i = 0; i < r.count; ++i) {
            if (batch_.truncated(i)) {
                metrics_.drop(DropReason::oversize);
                continue;
            }
            out[n++] = batch_.out(i, &s.peer, &s.local);
        }
        if (listeners_.empty()) return;  // shutting down
        if (n != 0) s.answered = true;
        listeners_[s.listener]->transmit(std::span(out.data(), n));
        s.last_active = now;
        if (r.count < net::kBatchSize) break;
    }
}

void ServerRelay::sweep(TimePoint now) {
    size_t closed = sessions_.expire(now, options_.idle_timeout, [](const Session& s) { return s.broken; });
    if (closed != 0) spdlog::debug("{} idle sessions closed, {} open", closed, sessions_.size());
    // At most once a sweep (≤ 1 s): a flood of new sessions costs one write.
    if ((closed != 0 || state_dirty_) && !options_.state_file.empty()) save_state(now);
}

void ServerRelay::on_runtime_options(TimePoint) {
    new_sessions_.set_rate(options_.new_session_rate);
    sessions_.set_max(options_.max_sessions);
}

}  // namespace porthop::relay
