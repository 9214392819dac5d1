#pragma once
// Session mode's framing (docs/design.md, "Modes and framing"; docs/protocol.md): every
// datagram is sealed in place (header before the payload, tag after it,
// XChaCha20-Poly1305) and opened in place. Server sessions are keyed by the
// 64-bit session id in each header, so replies follow the client wherever
// it sends from (roaming); each session keeps a send counter and a replay
// window. A coalesced receive (GRO run) is opened segment by segment in
// place; the sockets that receive plaintext take no GRO, since sealing grows
// each datagram. The client moves to a fresh source port at every hop (the
// old one kept for --hop-grace) and sends keepalives; the server answers
// `porthop probe` on its listeners.

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>

#include "crypto/session_crypto.hpp"
#include "metrics/registry.hpp"
#include "net/address.hpp"
#include "net/batch_io.hpp"
#include "net/mtu.hpp"
#include "probe/probe_responder.hpp"
#include "relay/framing_setup.hpp"
#include "relay/session_state_file.hpp"

namespace porthop::relay {

class SessionFraming {
public:
    using Key = uint64_t;
    struct KeyHash {
        size_t operator()(uint64_t id) const { return std::hash<uint64_t>{}(id); }
    };
    struct State {
        uint64_t id = 0;
        uint64_t send_counter = 0;    // this relay -> the other
        crypto::ReplayWindow window;  // the other relay -> this one
        uint64_t reserved = 0;        // --state-file: the send counter saved for a restart
    };
    struct Inbound {
        Key key;
        crypto::Header header;
    };

    static constexpr FramingTraits kTraits{.name = "session",
                                           .whole_runs = false,
                                           .coalesce_plain = false,
                                           .coalesce_framed = true,
                                           .hop_source_port = true,
                                           .keepalive = true,
                                           .state_file = true};

    explicit SessionFraming(const FramingSetup& setup)
        : tx_(key(setup),
              setup.options.role == config::Role::client ? crypto::Direction::upstream : crypto::Direction::downstream),
          rx_(key(setup), setup.options.role == config::Role::client ? crypto::Direction::downstream
                                                                     : crypto::Direction::upstream) {
        if (setup.listeners != nullptr) {
            probe_.emplace(setup.base, setup.metrics, *setup.psk, setup.options.mtu, *setup.listeners);
        }
    }

    State new_client_state() const { return State{crypto::random_session_id(), 0, {}}; }
    State new_server_state(Key id) const { return State{id, counter_start_, {}}; }
    // The largest payload whose framed datagram fits the MTU towards `to`.
    size_t max_plain(uint32_t mtu, const net::Address& to) const {
        size_t room = net::max_udp_payload(mtu, to);
        return room > crypto::kOverhead ? room - crypto::kOverhead : 0;
    }

    // Seals datagram i of `batch` in place (the batch keeps head- and
    // tailroom for it).
    net::OutDatagram seal(State& s, net::RecvBatch& batch, size_t i, const net::Address* to,
                          const net::Address* from = nullptr) {
        auto framed = tx_.seal(batch.data(i), batch.payload(i).size(), s.id, s.send_counter++);
        return net::OutDatagram::make(framed, to, from);
    }
    // An authenticated empty datagram of session `s`, in a buffer of its own.
    std::span<const std::byte> keepalive(State& s) {
        return tx_.seal(keepalive_buf_.data() + crypto::kHeaderSize, 0, s.id, s.send_counter++);
    }

    // Server side, in this order: inspect (the header), then the session of
    // its id is looked up, open (replay check against that session if any,
    // then the tag: an unknown id costs nothing before its tag verified),
    // and accept once the datagram counts.
    std::optional<Inbound> inspect(std::span<std::byte> datagram, const net::Address&, metrics::DropReason& why) const {
        auto header = crypto::parse_header(datagram);
        if (!header) {
            why = metrics::DropReason::malformed;
            return std::nullopt;
        }
        return Inbound{header->session_id, *header};
    }
    std::optional<std::span<std::byte>> open(const State* s, const Inbound& in, std::span<std::byte> datagram,
                                             metrics::DropReason& why) const {
        if (s != nullptr && !s->window.check(in.header.counter)) {
            why = metrics::DropReason::replay;
            return std::nullopt;
        }
        auto opened = rx_.open(datagram, in.header);
        if (!opened) why = metrics::DropReason::auth;
        return opened;
    }
    void accept(State& s, const Inbound& in) const { s.window.accept(in.header.counter); }

    // Client side: a reply of the server relay, on session `s`.
    std::optional<std::span<std::byte>> open_reply(State& s, std::span<std::byte> datagram,
                                                   metrics::DropReason& why) const {
        auto in = inspect(datagram, net::Address{}, why);
        if (!in) return std::nullopt;
        if (in->key != s.id) {
            why = metrics::DropReason::auth;
            return std::nullopt;
        }
        auto opened = open(&s, *in, datagram, why);
        if (opened) accept(s, *in);
        return opened;
    }

    // --state-file (docs/design.md, "Restarts"): a session comes back with
    // its id, its replay window's newest counter (everything up to it is
    // refused) and a send counter kCounterMargin beyond the one in use when
    // it was saved; it is saved again before the counter gets within half the
    // margin of that, so a restart never reuses a nonce.
    static constexpr uint64_t kCounterMargin = uint64_t{1} << 20;
    // Each start with the state file is a generation; a session unknown to
    // the file (opened after the last save) starts its server counter at
    // generation << 40, beyond any counter an earlier process sent.
    void start_generation(uint64_t generation) { counter_start_ = generation << 40; }
    Key saved_key(const SavedSession& saved) const { return saved.id; }
    void save(const State& s, SavedSession& out) const {
        out.id = s.id;
        out.send_next = s.send_counter + kCounterMargin;
        out.recv_newest = s.window.newest();
    }
    void saved(State& s, const SavedSession& out) const { s.reserved = out.send_next; }
    bool save_due(const State& s) const { return s.send_counter + kCounterMargin / 2 >= s.reserved; }
    static State restore(const SavedSession& saved) {
        State s{saved.id, saved.send_next, {}};
        uint64_t oldest = saved.recv_newest > crypto::ReplayWindow::kWindow
                              ? saved.recv_newest - crypto::ReplayWindow::kWindow + 1
                              : 0;
        for (uint64_t c = oldest; c <= saved.recv_newest; ++c) s.window.accept(c);
        return s;
    }

    // Probe datagrams (their own first byte) go to the probe responder.
    bool intercept(std::span<std::byte> datagram, const net::Address& source, const net::Address& local,
                   size_t listener, TimePoint now) {
        if (!probe_ || datagram.empty() || datagram[0] != std::byte{crypto::kProbeVersion}) return false;
        probe_->on_datagram(datagram, source, local, listener, now);
        return true;
    }

private:
    static const crypto::Key& key(const FramingSetup& setup) {
        if (setup.psk == nullptr) throw std::invalid_argument("session mode needs the pre-shared key");
        return *setup.psk;
    }

    crypto::Cipher tx_;
    crypto::Cipher rx_;
    // Answers `porthop probe` (server relay only).
    std::optional<probe::ProbeResponder> probe_;
    uint64_t counter_start_ = 0;
    // Room for a keepalive: header, no payload, tag.
    std::array<std::byte, crypto::kOverhead + 16> keepalive_buf_{};
};

}  // namespace porthop::relay
