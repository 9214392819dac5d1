#pragma once
// What the two relays have in common: the pieces every endpoint shares, the
// one receive batch, the periodic sweep that expires idle sessions and
// proves the loop alive, and the interface main and /healthz see.

#include <functional>
#include <memory>
#include <vector>

#include "config/options.hpp"
#include "crypto/session_crypto.hpp"
#include "io/clock.hpp"
#include "io/endpoint.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/batch_io.hpp"
#include "net/send_queue.hpp"
#include "relay/adaptive_hops.hpp"
#include "relay/rng.hpp"
#include "relay/session_report.hpp"
#include "relay/worker_place.hpp"

namespace porthop::relay {

using io::Endpoint;
using io::EndpointContext;

// Per-socket and total bounds of user-space send queues.
inline constexpr size_t kQueueCapacityPerSocket = 256 * 1024;
inline constexpr size_t kQueueBudgetTotal = 64 * 1024 * 1024;
// Batches one readiness event may read before the loop turns to other
// sockets: fewer wake-ups under load, no starvation.
inline constexpr int kBatchesPerWakeup = 4;

class Relay {
public:
    virtual ~Relay() = default;
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    virtual size_t sessions() const = 0;
    // GET /sessions: the `limit` most recently active sessions and the
    // number open. Reads what the relay counts anyway; never called on the
    // datagram path.
    virtual SessionsReport report_sessions(size_t limit) const = 0;
    // False once the listening sockets are gone.
    virtual bool listening() const = 0;
    // The server relay's listening sockets, one per port of the set in its
    // order (the steering of --workers attaches to them); none for a client.
    virtual std::vector<int> listener_fds() const { return {}; }
    // Closes every session (counted with reason "shutdown") and the
    // listening sockets.
    virtual void shutdown() = 0;
    // SIGHUP: takes the options the option table marks as run-time (hop
    // schedule, idle timeout, session limits) without touching open
    // sessions; false (nothing changed) when the options are for another
    // role or mode.
    bool apply_runtime_options(const config::Options& o);

    // The last time the loop ran one of this relay's callbacks (the sweep
    // runs at least once a second).
    TimePoint last_tick() const { return last_tick_; }

protected:
    Relay(event_base& base, metrics::Registry& metrics, const config::Options& options);
    // Called by the sweep timer; expires idle sessions.
    virtual void sweep(TimePoint now) = 0;
    // Pushes the new runtime options_ into the relay's own state.
    virtual void on_runtime_options(TimePoint now) = 0;
    // Called every kAdaptiveTick while an adaptive hop option is on (client
    // relays): the sessions' adaptive triggers are evaluated here, never per
    // packet.
    virtual void adapt(TimePoint /*now*/) {}
    AdaptivePolicy adaptive_policy() const { return {options_.hop_on_stall, options_.hop_on_slowdown}; }
    // The client relays' adapt(): ticks every session's adaptive triggers;
    // a session that must hop moves to another port (counted by reason), then
    // `after_hop(session, reason)` does what the mode needs on top.
    template <typename Sessions, typename AfterHop>
    void adapt_sessions(Sessions& sessions, TimePoint now, AfterHop after_hop) {
        AdaptivePolicy policy = adaptive_policy();
        sessions.for_each([&](auto& s) {
            auto reason = s.adaptive.tick(policy, now);
            if (!reason) return;
            metrics_.add(metrics::Family::hops, *reason);
            s.hop_log.record(*reason, now);
            s.hop.hop(now);
            s.target.set_port(s.hop.port());
            after_hop(s, *reason);
        });
    }
    // Both relays' report_sessions(): the `limit` most recently active of
    // `sessions`, with what every session has (peer, age, idle time, rate);
    // `add(session, report, now)` fills in the relay's own fields.
    template <typename Sessions, typename Add>
    SessionsReport report_of(const Sessions& sessions, size_t limit, const char* mode, Add add) const {
        using Seconds = std::chrono::duration<double>;
        TimePoint now = Clock::now();
        SessionsReport report{config::to_string(options_.role), mode, sessions.size(), limit, {}};
        for (const auto* s : sessions.most_recent(limit)) {
            SessionReport& r = report.sessions.emplace_back();
            r.peer = s->peer.to_string();
            r.age_seconds = Seconds(now - s->opened).count();
            r.idle_seconds = Seconds(now - s->last_active).count();
            r.rate_up = s->rate.up();
            r.rate_down = s->rate.down();
            add(*s, r, now);
        }
        return report;
    }
    TimePoint tick() { return last_tick_ = Clock::now(); }
    // A new UDP socket of `family` with the configured kernel buffer sizes.
    net::UdpSocket open_socket(int family) const;
    // A socket bound to `local` that receives from peers (the client's
    // downstream socket, a server listener): replies go out from the address
    // the peer wrote to when `local` is a wildcard. `coalesce`: it may take
    // GRO receives.
    std::unique_ptr<Endpoint> open_listener(const net::Address& local, std::function<void()> on_readable,
                                            bool coalesce);
    // The server relay's listeners, one per port of --listen's set;
    // on_readable gets the listener's index.
    std::vector<std::unique_ptr<Endpoint>> open_port_set_listeners(const std::function<void(size_t)>& on_readable,
                                                                   bool coalesce);

    event_base& base_;
    metrics::Registry& metrics_;
    config::Options options_;
    Rng rng_;
    net::QueueBudget budget_;
    EndpointContext endpoints_;
    net::RecvBatch batch_;

private:
    void arm_adapt_timer();

    TimePoint last_tick_;
    loop::Event sweep_timer_;
    loop::Event adapt_timer_;
};

// The sockets a relay of `options` holds at most: its listening sockets and,
// per session, its upstream sockets (two while a source-port hop's grace
// period keeps the previous one open).
struct SocketCount {
    size_t listening = 0;
    size_t per_session = 1;
};
SocketCount socket_count(const config::Options& options);

// Builds the relay of options.role and options.mode (session mode needs the
// pre-shared key); throws net::NetError when a socket cannot be set up (the
// caller reports it and exits 2).
// `place`: the server relay's place among --workers.
std::unique_ptr<Relay> make_relay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                                  const crypto::Key* psk = nullptr, WorkerPlace place = {});

}  // namespace porthop::relay
