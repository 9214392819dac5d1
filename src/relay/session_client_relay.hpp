#pragma once
// The client relay in session mode (DESIGN.md, "Modes"; docs/protocol.md):
// each downstream source is a session with a random 64-bit id and its own
// counters. Datagrams are sealed in place and sent to the server relay on the
// session's current port; at every hop the session also moves to a fresh
// source port (a new socket). The previous socket stays open for the grace
// period (--hop-grace) for late replies, then closes: make-before-break.
// Replies count only from the server relay's address and a port of the set,
// under the session's id, with a valid tag and a fresh counter.

#include <array>
#include <memory>

#include "crypto/session_crypto.hpp"
#include "relay/hop_schedule.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/relay.hpp"
#include "relay/session_table.hpp"

namespace porthop::relay {

class SessionClientRelay final : public Relay {
public:
    SessionClientRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                       const crypto::Key& psk);
    ~SessionClientRelay() override;

    size_t sessions() const override { return sessions_.size(); }
    bool listening() const override { return downstream_ != nullptr; }
    void shutdown() override;
    net::Address listen_address() const;
    // For tests: upstream sockets open now (current + those in grace).
    size_t upstream_sockets();

private:
    struct Session {
        Session(const net::Address& p, const net::Address& t, HopSchedule h, TimePoint now)
            : peer(p), target(t), hop(h), adaptive(now) {}
        net::Address peer;    // the downstream application
        net::Address local;   // the local IP the application wrote to (wildcard --listen only)
        net::Address target;  // server relay address, port = current hop
        HopSchedule hop;
        AdaptiveHops adaptive;
        uint64_t id = 0;
        uint64_t send_counter = 0;    // client -> server
        crypto::ReplayWindow window;  // server -> client
        // Two upstream endpoints: `current` sends; the other one, if open,
        // is the previous hop's socket, kept until previous_until.
        std::array<std::unique_ptr<Endpoint>, 2> up;
        uint8_t current = 0;
        TimePoint previous_until;
        TimePoint last_active;
        TimePoint last_reply;
        TimePoint last_keepalive;
        bool broken = false;
    };

    void on_downstream_readable();
    void on_upstream_readable(Session& s, uint8_t slot);
    Session* find_or_open(const net::Address& peer, TimePoint now);
    net::UdpSocket open_upstream_socket() const;
    void hop_source(Session& s, TimePoint now);
    void sweep(TimePoint now) override;
    void on_runtime_options(TimePoint now) override;
    void adapt(TimePoint now) override;
    void send_keepalive(Session& s);

    crypto::Cipher tx_;  // client -> server
    crypto::Cipher rx_;  // server -> client
    HopPolicy hop_policy_;
    std::unique_ptr<Endpoint> downstream_;
    NewSessionLimiter new_sessions_;
    SessionTable<Session> sessions_;
    // Room for a keepalive: header, no payload, tag.
    std::array<std::byte, crypto::kOverhead + 16> keepalive_buf_{};
};

// A session that has heard nothing from the server relay for this long, while
// still active, sends a keepalive (an authenticated empty datagram) at most
// this often: after a NAT rebinding (the router lost the mapping) the server
// relay learns the new address even when the application only listens
// (docs/protocol.md, "Roaming").
inline constexpr Duration kKeepaliveAfter{1'000};

}  // namespace porthop::relay
