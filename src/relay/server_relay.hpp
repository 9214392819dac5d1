#pragma once
// The server relay (DESIGN.md, "Roles"): one listening socket per port of
// the set; each sender (ip, port) is a session with its own socket connected
// to the upstream QUIC server. Replies leave through the listening socket that
// most recently heard from the session's peer, so the NATs and the ISP on the
// way see a reply on the flow that is current.

#include <memory>
#include <vector>

#include "relay/relay.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/session_table.hpp"

namespace porthop::relay {

class ServerRelay final : public Relay {
public:
    ServerRelay(event_base& base, metrics::Registry& metrics, const config::Options& options);
    ~ServerRelay() override;

    size_t sessions() const override { return sessions_.size(); }
    bool listening() const override { return !listeners_.empty(); }
    void shutdown() override;

private:
    struct Session {
        net::Address peer;
        net::Address local;   // the local IP peer wrote to (wildcard --listen only)
        std::unique_ptr<Endpoint> upstream;
        size_t listener = 0;  // index into listeners_ of the last socket that heard from peer
        TimePoint last_active;
        bool broken = false;
        bool answered = false;  // the upstream has replied at least once
        TimePoint opened;
        uint64_t batch = 0;     // the last receive batch that used this session
    };

    void on_listener_readable(size_t index);
    void on_upstream_readable(Session& s);
    Session* find_or_open(const net::Address& peer, TimePoint now);
    bool evict_unanswered(TimePoint now);
    // How many sessions one eviction looks at: bounded work per new session
    // while the table is full.
    static constexpr size_t kEvictionScan = 64;
    // Opens the session's socket to the upstream; local_port 0: any.
    Session& open_session(const net::Address& peer, uint16_t local_port, TimePoint now);
    void sweep(TimePoint now) override;
    void on_runtime_options(TimePoint now) override;
    void save_state(TimePoint now);
    void restore_state(TimePoint now);

    std::vector<std::unique_ptr<Endpoint>> listeners_;
    NewSessionLimiter new_sessions_;
    SessionTable<Session> sessions_;
    uint64_t batch_seq_ = 0;
    bool state_dirty_ = false;  // sessions opened or closed since the state file was written
    TimePoint state_written_{};
};

}  // namespace porthop::relay
