#pragma once
// The server relay in session mode (DESIGN.md, "Modes"; docs/protocol.md):
// one listening socket per port of the set, as in plain mode, but sessions
// are keyed by the 64-bit session id in each datagram's header, not by the
// sender. A datagram is parsed, its tag verified (before any state exists for
// an unknown id) and its counter checked against the session's replay
// window; only then does it count. Replies are sealed in place and go to the
// most recent source address that sent a valid datagram (roaming), through
// the listening socket that received it. Probe datagrams (their own first
// byte) go to the ProbeResponder.

#include <memory>
#include <vector>

#include "crypto/session_crypto.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/probe_responder.hpp"
#include "relay/relay.hpp"
#include "relay/session_table.hpp"

namespace porthop::relay {

class SessionServerRelay final : public Relay {
public:
    SessionServerRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                       const crypto::Key& psk);
    ~SessionServerRelay() override;

    size_t sessions() const override { return sessions_.size(); }
    bool listening() const override { return !listeners_.empty(); }
    void shutdown() override;

    // For tests: the current peer address of every session.
    std::vector<net::Address> session_peers();

private:
    struct Session {
        uint64_t id = 0;
        net::Address peer;    // the latest source of a valid datagram
        net::Address local;   // the local IP peer wrote to (wildcard --listen only)
        std::unique_ptr<Endpoint> upstream;
        size_t listener = 0;  // index into listeners_ of the socket that received that datagram
        TimePoint last_active;
        crypto::ReplayWindow window;  // client -> server counters
        uint64_t send_counter = 0;    // server -> client
        bool broken = false;
    };
    struct IdHash {
        size_t operator()(uint64_t id) const { return std::hash<uint64_t>{}(id); }
    };

    void on_listener_readable(size_t index);
    void on_upstream_readable(Session& s);
    Session* open_session(uint64_t id, const net::Address& source, TimePoint now);
    void sweep(TimePoint now) override;
    void on_runtime_options(TimePoint now) override;

    crypto::Cipher rx_;  // client -> server
    crypto::Cipher tx_;  // server -> client
    std::vector<std::unique_ptr<Endpoint>> listeners_;
    // Answers `porthop probe` (datagrams of crypto::kProbeVersion).
    ProbeResponder probe_;
    NewSessionLimiter new_sessions_;
    SessionTable<Session, uint64_t, IdHash> sessions_;
};

}  // namespace porthop::relay
