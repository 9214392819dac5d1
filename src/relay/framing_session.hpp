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
// `porthop probe` on its listeners. A datagram too large for --mtu once
// framed leaves as pieces (relay/piece_sealer.hpp), which the peer relay puts
// back together (relay/reassembly.hpp).

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
#include "relay/piece_sealer.hpp"
#include "relay/reassembly.hpp"

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
    };
    // The version byte of a piece: the cipher's with kPieceFlag.
    static constexpr uint8_t kPieceVersion = crypto::kVersion | kPieceFlag;
    struct Inbound {
        Key key;
        crypto::Header header;
    };

    // No --state-file yet (issue 16).
    static constexpr FramingTraits kTraits{.name = "session",
                                           .whole_runs = false,
                                           .coalesce_plain = false,
                                           .coalesce_framed = true,
                                           .hop_source_port = true,
                                           .keepalive = true,
                                           .state_file = false};

    explicit SessionFraming(const FramingSetup& setup)
        : metrics_(setup.metrics),
          tx_dir_(setup.options.role == config::Role::client ? net::Direction::upstream : net::Direction::downstream),
          pieces_(setup.options.mtu),
          reassembly_(setup.metrics),
          tx_(key(setup),
              setup.options.role == config::Role::client ? crypto::Direction::upstream : crypto::Direction::downstream),
          rx_(key(setup), setup.options.role == config::Role::client ? crypto::Direction::downstream
                                                                     : crypto::Direction::upstream) {
        if (setup.listeners != nullptr) {
            probe_.emplace(setup.base, setup.metrics, *setup.psk, setup.options.mtu, *setup.listeners);
        }
    }

    State new_client_state() const { return State{crypto::random_session_id(), 0, {}}; }
    State new_server_state(Key id) const { return State{id, 0, {}}; }
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
    // Datagram i of `batch` to `out`: sealed in place when its framed
    // datagram fits `limit` (max_plain), else as pieces. False (nothing
    // sent) when it cannot be cut that small.
    template <typename Sink>
    bool seal_to(State& s, net::RecvBatch& batch, size_t i, const net::Address* to, const net::Address* from,
                 size_t limit, Sink& out) {
        if (batch.payload(i).size() <= limit) {
            out.push(seal(s, batch, i, to, from));
            return true;
        }
        size_t n = pieces_.seal(tx_, kPieceVersion, s.id, s.send_counter, batch.payload(i), limit, to, from, out);
        metrics_.add(metrics::Family::pieces, tx_dir_, n);
        return n != 0;
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
        bool piece = !datagram.empty() && datagram[0] == std::byte{kPieceVersion};
        auto header = crypto::parse_header(datagram, piece ? kPieceVersion : crypto::kVersion);
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

    // The datagram to relay for opened datagram `datagram` (plaintext
    // `plain`) of session `s`: `plain` itself, or for a piece the whole
    // datagram once its last piece is in (nullopt until then, or when the
    // piece is dropped, counted). The version byte says which: it is
    // authenticated.
    std::optional<std::span<std::byte>> assemble(const State& s, std::span<const std::byte> datagram,
                                                 std::span<std::byte> plain, TimePoint now) {
        if (datagram[0] != std::byte{kPieceVersion}) return plain;
        metrics_.add(metrics::Family::pieces,
                     tx_dir_ == net::Direction::upstream ? net::Direction::downstream : net::Direction::upstream);
        auto whole = reassembly_.add(s.id, plain, now);
        if (whole.empty()) return std::nullopt;
        return whole;
    }
    // Whole datagrams handed on by assemble() stay valid until this is
    // called, once they are sent or queued; call it before more than
    // Reassembly::kMaxDelivered wait (must_release()).
    bool must_release() const { return reassembly_.must_release(); }
    void release_assembled() { reassembly_.release_delivered(); }
    // From the sweep: gives up datagrams whose pieces did not all come.
    void expire(TimePoint now) { reassembly_.expire(now); }

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

    metrics::Registry& metrics_;
    net::Direction tx_dir_;  // the direction this relay sends in
    PieceSealer pieces_;
    Reassembly reassembly_;
    crypto::Cipher tx_;
    crypto::Cipher rx_;
    // Answers `porthop probe` (server relay only).
    std::optional<probe::ProbeResponder> probe_;
    // Room for a keepalive: header, no payload, tag.
    std::array<std::byte, crypto::kOverhead + 16> keepalive_buf_{};
};

}  // namespace porthop::relay
