#pragma once
// The server relay (docs/design.md, "Roles"): one listening socket per port of
// the set; each session has its own socket connected to the upstream QUIC
// server. Framing (PlainFraming, SessionFraming) says what a session is keyed
// by (the sender, or the session id in each datagram's header), how a
// datagram is checked and opened (before an unknown key costs anything) and
// how a reply is sealed. Replies leave through the listening socket that most
// recently heard a valid datagram of the session, towards its source, so the
// NATs and the ISP on the way see a reply on the flow that is current (and a
// roaming client is followed); a client with --paths N has N such flows at
// once, and the replies are spread over them (relay/recent_paths.hpp).

#include <memory>
#include <vector>

#include "relay/framing_setup.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/recent_paths.hpp"
#include "relay/relay.hpp"
#include "relay/session_stats.hpp"
#include "relay/session_table.hpp"
#include "relay/worker_place.hpp"

namespace porthop::relay {

template <typename Framing>
class ServerRelay final : public Relay {
public:
    ServerRelay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                const crypto::Key* psk = nullptr, WorkerPlace place = {});
    ~ServerRelay() override;

    size_t sessions() const override { return sessions_.size(); }
    SessionsReport report_sessions(size_t limit) const override;
    bool listening() const override { return !listeners_.empty(); }
    std::vector<int> listener_fds() const override;
    void shutdown() override;
    // For tests: the current peer address of every session.
    std::vector<net::Address> session_peers();

private:
    using Key = typename Framing::Key;
    struct Session {
        net::Address peer;   // the latest source of a valid datagram
        net::Address local;  // the local IP peer wrote to (wildcard --listen only)
        std::unique_ptr<Endpoint> upstream;
        size_t listener = 0;  // index into listeners_ of the socket that received that datagram
        typename Framing::State framing;
        TimePoint last_active;
        TimePoint opened;
        uint64_t batch = 0;  // the last receive batch that used this session
        bool broken = false;
        bool answered = false;  // the upstream has replied at least once
        // Payload bytes towards the upstream and back, for GET /sessions.
        uint64_t bytes_up = 0;
        uint64_t bytes_down = 0;
        RateSampler rate{TimePoint{}};  // restarted when the session opens
        RecentPaths paths{};            // where replies go: spread over the client's --paths
    };

    void on_listener_readable(size_t index);
    void on_upstream_readable(Session& s);
    void answer_keepalive(Session& s, TimePoint now);
    // The session that datagram `d` (from `source`) belongs to once it
    // counts, with `d` opened in place into `plain`; null when it was dropped
    // (counted) or carries nothing to relay.
    Session* take(std::span<std::byte> d, const net::Address& source, std::span<std::byte>& plain, TimePoint now);
    Session* open_new(const Key& key, const net::Address& peer, TimePoint now);
    bool evict_unanswered(TimePoint now);
    // How many sessions one eviction looks at: bounded work per new session
    // while the table is full.
    static constexpr size_t kEvictionScan = 64;
    // Opens the session's socket to the upstream; local_port 0: any.
    Session& open_session(const Key& key, const net::Address& peer, uint16_t local_port, TimePoint now);
    void sweep(TimePoint now) override;
    void on_runtime_options(TimePoint now) override;
    void save_state(TimePoint now);
    void restore_state(TimePoint now);

    WorkerPlace place_;
    std::vector<std::unique_ptr<Endpoint>> listeners_;
    Framing framing_;
    NewSessionLimiter new_sessions_;
    SessionTable<Session, Key, typename Framing::KeyHash> sessions_;
    // The datagrams of one receive, ready to go upstream; more than a batch
    // when GRO runs are opened segment by segment.
    std::unique_ptr<net::OutDatagram[]> ready_;
    uint64_t batch_seq_ = 0;
    bool state_dirty_ = false;  // sessions opened or closed since the state file was written
    TimePoint state_written_{};
    uint64_t generation_ = 0;  // of --state-file: this start's
};

}  // namespace porthop::relay
