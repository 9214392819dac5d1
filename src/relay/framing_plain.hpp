#pragma once
// Plain mode's framing (docs/design.md, "Modes and framing"): datagrams pass untouched.
// Sessions are keyed by the sender's address, a coalesced receive (GRO run)
// is passed on whole as one GSO send, and the server relay keeps its
// sessions across restarts in --state-file. The client relay and the server
// relay take this type (or SessionFraming) as their template parameter; what
// differs between the modes is here and in framing_session.hpp only.

#include <cstddef>
#include <limits>
#include <optional>
#include <span>

#include "metrics/registry.hpp"
#include "net/address.hpp"
#include "net/batch_io.hpp"
#include "relay/framing_setup.hpp"
#include "relay/session_state_file.hpp"

namespace porthop::relay {

class PlainFraming {
public:
    // Server sessions are keyed by the sender.
    using Key = net::Address;
    using KeyHash = net::AddressHash;
    // Nothing per session.
    struct State {};
    // What the server learns from a datagram before any session is looked up.
    struct Inbound {
        Key key;
    };

    // Payloads are never touched: GRO runs pass whole, on every socket.
    static constexpr FramingTraits kTraits{.name = "plain",
                                           .whole_runs = true,
                                           .coalesce_plain = true,
                                           .coalesce_framed = true,
                                           .hop_source_port = false,
                                           .keepalive = false,
                                           .state_file = true};

    explicit PlainFraming(const FramingSetup&) {}

    State new_client_state() const { return {}; }
    State new_server_state(const Key&) const { return {}; }
    // Untouched datagrams have no limit of their own.
    size_t max_plain(uint32_t /*mtu*/, const net::Address& /*to*/) const { return std::numeric_limits<size_t>::max(); }

    // Datagram i of `batch`, to send on as it came (a GRO run whole).
    net::OutDatagram seal(State&, net::RecvBatch& batch, size_t i, const net::Address* to,
                          const net::Address* from = nullptr) {
        return batch.out(i, to, from);
    }
    template <typename Sink>
    bool seal_to(State& s, net::RecvBatch& batch, size_t i, const net::Address* to, const net::Address* from,
                 size_t /*limit*/, Sink& out) {
        out.push(seal(s, batch, i, to, from));
        return true;
    }

    // Server side: the key, the checks and the (identity) opening.
    std::optional<Inbound> inspect(std::span<std::byte>, const net::Address& source, metrics::DropReason&) const {
        return Inbound{source};
    }
    std::optional<std::span<std::byte>> open(const State*, const Inbound&, std::span<std::byte> datagram,
                                             metrics::DropReason&) const {
        return datagram;
    }
    void accept(State&, const Inbound&) const {}
    // Client side: a reply of the server relay, on session `state`.
    std::optional<std::span<std::byte>> open_reply(State&, std::span<std::byte> datagram, metrics::DropReason&) const {
        return datagram;
    }
    // --state-file: nothing per session beyond what the relays save; a
    // session is keyed by its peer.
    void start_generation(uint64_t) {}
    Key saved_key(const SavedSession& saved) const { return saved.peer; }
    void save(const State&, SavedSession&) const {}
    void saved(State&, const SavedSession&) const {}
    bool save_due(const State&) const { return false; }
    static State restore(const SavedSession&) { return {}; }
    // Never in pieces.
    std::optional<std::span<std::byte>> assemble(const State&, std::span<const std::byte>, std::span<std::byte> plain,
                                                 TimePoint) {
        return plain;
    }
    bool must_release() const { return false; }
    void release_assembled() {}
    void expire(TimePoint) {}

    // No datagram of its own on the listeners, nor among the replies.
    bool intercept(std::span<std::byte>, const net::Address&, const net::Address&, size_t, TimePoint) { return false; }
    bool intercept_reply(State&, std::span<std::byte>) { return false; }
};

}  // namespace porthop::relay
