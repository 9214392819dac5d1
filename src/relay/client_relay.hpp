#pragma once
// The client relay (DESIGN.md, "Roles"): one downstream socket; each
// downstream source is a session with its own upstream socket, sending to the
// server relay on a port of the set that changes on the session's hop
// schedule. Replies count only from the server relay's address and a port of
// the set.

#include <memory>
#include <optional>

#include "relay/hop_nudge.hpp"
#include "relay/hop_schedule.hpp"
#include "relay/relay.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/session_table.hpp"

namespace porthop::relay {

class ClientRelay final : public Relay {
public:
    ClientRelay(event_base& base, metrics::Registry& metrics, const config::Options& options);
    ~ClientRelay() override;

    size_t sessions() const override { return sessions_.size(); }
    bool listening() const override { return downstream_ != nullptr; }
    void shutdown() override;
    // The local address of the downstream socket (tests bind port 0).
    net::Address listen_address() const;

private:
    struct Session {
        net::Address peer;        // the downstream application
        net::Address local;       // the local IP the application wrote to (wildcard --listen only)
        net::Address target;      // server relay address, port = current hop
        HopSchedule hop;
        AdaptiveHops adaptive;
        std::unique_ptr<Endpoint> upstream;
        HopNudge nudge;           // kept only while --hop-on-stall is on
        TimePoint last_active;
        TimePoint last_reply;     // last datagram from the server relay (or the session's start)
        bool broken = false;
    };

    void on_downstream_readable();
    void on_upstream_readable(Session& s);
    Session* find_or_open(const net::Address& peer, TimePoint now);
    void sweep(TimePoint now) override;
    void on_runtime_options(TimePoint now) override;
    void adapt(TimePoint now) override;

    HopPolicy hop_policy_;
    std::unique_ptr<Endpoint> downstream_;
    NewSessionLimiter new_sessions_;
    SessionTable<Session> sessions_;
};

}  // namespace porthop::relay
