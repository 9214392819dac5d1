#pragma once
// The client relay (docs/design.md, "Roles"): one downstream socket; each
// downstream source is a session with its own upstream socket, sending to the
// server relay on a port of the set that changes on the session's hop
// schedule (with --paths N: N flows at once, relay/path_set.hpp). Replies
// count only from the server relay's address and a port of the set, and only
// once the framing opened them. Framing (PlainFraming,
// SessionFraming) says what differs between the modes: how a datagram is
// sealed and opened, whether the source port hops too (then the previous
// socket stays open for --hop-grace, for late replies: make-before-break)
// and whether keepalives tell the server relay where the session is.

#include <array>
#include <memory>

#include "relay/framing_setup.hpp"
#include "relay/hop_memory.hpp"
#include "relay/hop_nudge.hpp"
#include "relay/hop_schedule.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/path_set.hpp"
#include "relay/relay.hpp"
#include "relay/session_stats.hpp"
#include "relay/session_table.hpp"

namespace porthop::relay {

template <typename Framing>
class ClientRelay final : public Relay {
public:
    ClientRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                const crypto::Key* psk = nullptr);
    ~ClientRelay() override;

    size_t sessions() const override { return sessions_.size(); }
    SessionsReport report_sessions(size_t limit) const override;
    bool listening() const override { return downstream_ != nullptr; }
    void shutdown() override;
    // The local address of the downstream socket (tests bind port 0).
    net::Address listen_address() const;
    // For tests: upstream sockets open now (current + those in grace).
    size_t upstream_sockets();

private:
    struct Session {
        Session(const net::Address& p, PathSet ps, typename Framing::State f, TimePoint now)
            : peer(p),
              paths(std::move(ps)),
              hop(paths.main().hop),
              target(paths.main().target),
              adaptive(now),
              framing(std::move(f)),
              rate(now),
              opened(now),
              last_active(now),
              last_reply(now) {}
        net::Address peer;   // the downstream application
        net::Address local;  // the local IP the application wrote to (wildcard --listen only)
        PathSet paths;       // --paths flows, each with its port, schedule and (source-port hops) sockets
        // Path 0's schedule and target: the adaptive triggers hop the main
        // path through these (Relay::adapt_sessions).
        HopSchedule& hop;
        net::Address& target;
        AdaptiveHops adaptive;  // also the session's byte totals each way
        typename Framing::State framing;
        HopLog hop_log;
        RateSampler rate;
        TimePoint opened;
        HopNudge nudge;  // kept only while --hop-on-stall is on (no keepalives)
        TimePoint last_active;
        TimePoint last_reply;  // last datagram from the server relay (or the session's start)
        TimePoint last_keepalive;
        bool broken = false;
    };

    void on_downstream_readable();
    void on_upstream_readable(Session& s, size_t path, uint8_t slot);
    Session* find_or_open(const net::Address& peer, TimePoint now);
    // local_port 0: any.
    net::UdpSocket upstream_socket(uint16_t local_port);
    std::unique_ptr<Endpoint> open_upstream(Session& s, size_t path, uint8_t slot, uint16_t local_port = 0);
    // The socket path `path` sends through (its own with source-port hops,
    // else path 0's: one source address for all paths).
    Endpoint& sender(Session& s, size_t path);
    void hop_source(Session& s, size_t path, TimePoint now);
    // Path `path` hopped (any trigger): counted, kept off the other paths'
    // ports, and on a fresh source port where the framing wants one.
    void path_hopped(Session& s, size_t path, metrics::HopReason reason, TimePoint now);
    void replace_stalled_path(Session& s, TimePoint now);
    void send_keepalive(Session& s, TimePoint now);
    void sweep(TimePoint now) override;
    void on_runtime_options(TimePoint now) override;
    void adapt(TimePoint now) override;
    // --state-file (docs/design.md, "Restarts").
    void save_state(TimePoint now);
    void save_state_if_due(const Session& s, TimePoint now);
    void restore_state(TimePoint now);

    Framing framing_;
    net::Address upstream_any_;  // the wildcard address of the server relay's family
    HopPolicy hop_policy_;
    std::unique_ptr<Endpoint> downstream_;
    NewSessionLimiter new_sessions_;
    HopMemory hop_memory_;  // shared by the sessions: outlives them (declared first)
    SessionTable<Session> sessions_;
    bool state_dirty_ = false;  // sessions opened, closed or hopped since the state file was written
    TimePoint state_written_{};
};

// A session that has heard nothing from the server relay for this long, while
// still active, sends a keepalive (an authenticated empty datagram; framings
// with keepalives only) at most this often: after a NAT rebinding (the router
// lost the mapping) the server relay learns the new address even when the
// application only listens (docs/protocol.md, "Roaming").
inline constexpr Duration kKeepaliveAfter{1'000};

}  // namespace porthop::relay
