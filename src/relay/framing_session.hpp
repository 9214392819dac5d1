#pragma once
// Session mode's framing (docs/design.md, "Modes and framing"; docs/protocol.md): every
// datagram is sealed in place (header before the payload, tag after it) and
// opened in place, under AES-256-GCM where both relays can (per-session
// keys), else XChaCha20-Poly1305 (crypto/session_ciphers.hpp). The client
// relay starts every session in AES-256-GCM when its CPU has it and falls
// back to XChaCha20-Poly1305 for good once the server relay says it cannot
// (a notice); the server relay answers each session in the cipher of its
// latest datagram. Server sessions are keyed by the
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

#include <spdlog/spdlog.h>

#include "crypto/session_ciphers.hpp"
#include "crypto/session_crypto.hpp"
#include "metrics/registry.hpp"
#include "net/address.hpp"
#include "net/batch_io.hpp"
#include "net/mtu.hpp"
#include "probe/probe_responder.hpp"
#include "relay/framing_setup.hpp"
#include "relay/new_session_limiter.hpp"
#include "relay/piece_sealer.hpp"
#include "relay/reassembly.hpp"
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
        crypto::SessionKeys keys;     // the cipher, and its keys if AES-256-GCM
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
        : ciphers_(
              key(setup),
              setup.options.role == config::Role::client ? crypto::Direction::upstream : crypto::Direction::downstream,
              crypto::aes_gcm_available()),
          metrics_(setup.metrics),
          listeners_(setup.listeners),
          tx_dir_(setup.options.role == config::Role::client ? net::Direction::upstream : net::Direction::downstream),
          pieces_(setup.options.mtu),
          reassembly_(setup.metrics) {
        if (setup.listeners != nullptr) {
            probe_.emplace(setup.base, setup.metrics, *setup.psk, setup.options.mtu, *setup.listeners);
            if (!ciphers_.aes_gcm()) notices_.emplace(kNoticeRate, kNoticeBurst);
        }
        if (!ciphers_.aes_gcm()) spdlog::info("AES-256-GCM unavailable here: session mode uses XChaCha20-Poly1305");
    }

    State new_client_state() const {
        State s{.id = crypto::random_session_id(), .send_counter = 0, .window = {}, .keys = {}, .reserved = 0};
        if (ciphers_.aes_gcm()) ciphers_.use_aes_gcm(s.keys, s.id);
        return s;
    }
    // The cipher and keys come with the first datagram (accept).
    State new_server_state(Key id) const {
        return State{.id = id, .send_counter = counter_start_, .window = {}, .keys = {}, .reserved = 0};
    }
    // The largest payload whose framed datagram fits the MTU towards `to`.
    size_t max_plain(uint32_t mtu, const net::Address& to) const {
        size_t room = net::max_udp_payload(mtu, to);
        return room > crypto::kOverhead ? room - crypto::kOverhead : 0;
    }

    // Seals datagram i of `batch` in place (the batch keeps head- and
    // tailroom for it).
    net::OutDatagram seal(State& s, net::RecvBatch& batch, size_t i, const net::Address* to,
                          const net::Address* from = nullptr) {
        fall_back_if_refused(s);
        auto framed = ciphers_.seal(s.keys, batch.data(i), batch.payload(i).size(), s.id, s.send_counter++);
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
        fall_back_if_refused(s);
        size_t n = pieces_.seal(ciphers_, s.keys, s.id, s.send_counter, batch.payload(i), limit, to, from, out);
        metrics_.add(metrics::Family::pieces, tx_dir_, n);
        return n != 0;
    }
    // An authenticated empty datagram of session `s`, in a buffer of its own.
    std::span<const std::byte> keepalive(State& s) {
        fall_back_if_refused(s);
        return ciphers_.seal(s.keys, keepalive_buf_.data() + crypto::kHeaderSize, 0, s.id, s.send_counter++);
    }

    // Server side, in this order: inspect (the header), then the session of
    // its id is looked up, open (replay check against that session if any,
    // then the tag: an unknown id costs nothing before its tag verified),
    // and accept once the datagram counts.
    std::optional<Inbound> inspect(std::span<std::byte> datagram, const net::Address&, metrics::DropReason& why) const {
        auto header = crypto::parse_session_header(datagram);
        if (!header) {
            why = metrics::DropReason::malformed;
            return std::nullopt;
        }
        return Inbound{header->session_id, *header};
    }
    std::optional<std::span<std::byte>> open(const State* s, const Inbound& in, std::span<std::byte> datagram,
                                             metrics::DropReason& why) {
        if (s != nullptr && !s->window.check(in.header.counter)) {
            why = metrics::DropReason::replay;
            return std::nullopt;
        }
        const bool aes = (in.header.version & ~crypto::kPieceFlag) == crypto::kAesGcmVersion;
        const crypto::SessionKeys* keys = &scratch_;  // its XChaCha20-Poly1305 half needs no key of its own
        if (s != nullptr && (!aes || s->keys.rx_ready)) {
            keys = &s->keys;
        } else if (aes && (scratch_id_ != in.key || !scratch_.rx_ready)) {
            // Only the receiving key, and only until the tag verified: a
            // flood of unknown ids costs a key derivation each, nothing kept.
            scratch_.rx_ready = false;
            ciphers_.derive_rx(scratch_, in.key);
            scratch_id_ = in.key;
        }
        auto opened = ciphers_.open(*keys, datagram, in.header);
        if (!opened) why = metrics::DropReason::auth;
        return opened;
    }
    // Replies go in the cipher of the session's latest datagram.
    void accept(State& s, const Inbound& in) {
        s.window.accept(in.header.counter);
        if ((in.header.version & ~crypto::kPieceFlag) != crypto::kAesGcmVersion) {
            s.keys.suite = crypto::Suite::xchacha20;
        } else if (s.keys.suite != crypto::Suite::aes256gcm) {
            if (!s.keys.rx_ready && scratch_id_ == s.id && scratch_.rx_ready) {
                std::swap(s.keys.rx, scratch_.rx);  // the verified key moves in; scratch_ gets s's unused one
                s.keys.rx_ready = true;
                scratch_.rx_ready = false;
            }
            ciphers_.use_aes_gcm(s.keys, s.id);
        }
    }

    // Client side: a reply of the server relay, on session `s`.
    std::optional<std::span<std::byte>> open_reply(State& s, std::span<std::byte> datagram, metrics::DropReason& why) {
        auto in = inspect(datagram, net::Address{}, why);
        if (!in) return std::nullopt;
        if (in->key != s.id) {
            why = metrics::DropReason::auth;
            return std::nullopt;
        }
        auto opened = open(&s, *in, datagram, why);
        // The client keeps its own cipher: a server relay answers in the
        // cipher of the latest datagram it heard, so one that restarted
        // answers in XChaCha20-Poly1305 until it hears this session again,
        // and taking that up would keep the session off AES-256-GCM for good.
        // Only a notice (intercept_reply) moves the client off it.
        if (opened) s.window.accept(in->header.counter);
        return opened;
    }

    // The datagram to relay for opened datagram `datagram` (plaintext
    // `plain`) of session `s`: `plain` itself, or for a piece the whole
    // datagram once its last piece is in (nullopt until then, or when the
    // piece is dropped, counted). The version byte says which: it is
    // authenticated.
    std::optional<std::span<std::byte>> assemble(const State& s, std::span<const std::byte> datagram,
                                                 std::span<std::byte> plain, TimePoint now) {
        if ((std::to_integer<uint8_t>(datagram[0]) & kPieceFlag) == 0) return plain;
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
    // A restored client session takes AES-256-GCM back at once; a restored
    // server session learns its cipher from the client's next datagram
    // (until then its replies go in XChaCha20-Poly1305, which the client
    // opens without changing its own cipher: open_reply).
    State restore(const SavedSession& saved) const {
        State s = restore_counters(saved);
        if (listeners_ == nullptr && aes_gcm_) ciphers_.use_aes_gcm(s.keys, s.id);
        return s;
    }
    // The id, the send counter and the replay window of a restored session.
    static State restore_counters(const SavedSession& saved) {
        State s{.id = saved.id, .send_counter = saved.send_next, .window = {}, .keys = {}, .reserved = 0};
        uint64_t oldest = saved.recv_newest > crypto::ReplayWindow::kWindow
                              ? saved.recv_newest - crypto::ReplayWindow::kWindow + 1
                              : 0;
        for (uint64_t c = oldest; c <= saved.recv_newest; ++c) s.window.accept(c);
        return s;
    }

    // Server side: probe datagrams (their own first byte) go to the probe
    // responder; without AES-256-GCM, a version-3 datagram gets a notice.
    bool intercept(std::span<std::byte> datagram, const net::Address& source, const net::Address& local,
                   size_t listener, TimePoint now) {
        if (datagram.empty()) return false;
        if ((std::to_integer<uint8_t>(datagram[0]) & ~crypto::kPieceFlag) == crypto::kAesGcmVersion && notices_) {
            refuse_aes_gcm(datagram, source, local, listener, now);
            return true;
        }
        if (!probe_ || datagram[0] != std::byte{crypto::kProbeVersion}) return false;
        probe_->on_datagram(datagram, source, local, listener, now);
        return true;
    }
    // Client side: a server relay's notice that it cannot do AES-256-GCM
    // (from then on every session of this relay uses XChaCha20-Poly1305).
    bool intercept_reply(State& s, std::span<std::byte> datagram) {
        if (datagram.empty() || datagram[0] != std::byte{crypto::kNoticeVersion}) return false;
        if (!ciphers_.is_aes_gcm_refusal(datagram, s.id)) return false;  // then a malformed drop
        if (aes_gcm_) spdlog::info("the server relay cannot do AES-256-GCM: falling back to XChaCha20-Poly1305");
        aes_gcm_ = false;
        return true;
    }

private:
    static const crypto::Key& key(const FramingSetup& setup) {
        if (setup.psk == nullptr) throw std::invalid_argument("session mode needs the pre-shared key");
        return *setup.psk;
    }

    void fall_back_if_refused(State& s) const {
        if (s.keys.suite == crypto::Suite::aes256gcm && !aes_gcm_) s.keys.suite = crypto::Suite::xchacha20;
    }

    // Not a reflector: a notice is no larger than what asked for it, goes
    // only to well-formed version-3 datagrams, and at most kNoticeRate a
    // second (burst kNoticeBurst) to any one IP.
    void refuse_aes_gcm(std::span<const std::byte> datagram, const net::Address& source, const net::Address& local,
                        size_t listener, TimePoint now) {
        metrics_.drop(metrics::DropReason::auth);  // unopened, as any datagram it cannot verify
        auto h = crypto::parse_header(datagram, std::to_integer<uint8_t>(datagram[0]));  // 3, or 0x83 (a piece)
        if (!h || datagram.size() < crypto::kOverhead + crypto::SessionCiphers::kNoticePayload ||
            listener >= listeners_->size() || !notices_->allow(source, now)) {
            return;
        }
        auto framed = ciphers_.seal_notice(notice_buf_.data() + crypto::kHeaderSize, h->session_id);
        net::OutDatagram out = net::OutDatagram::make(framed, &source, &local);
        (*listeners_)[listener]->transmit(std::span(&out, 1));
    }

    static constexpr double kNoticeRate = 2.0;
    static constexpr double kNoticeBurst = 4.0;

    crypto::SessionCiphers ciphers_;
    // Client: false once the server relay refused AES-256-GCM.
    bool aes_gcm_ = ciphers_.aes_gcm();
    // Server: the receiving key of the latest unknown AES-256-GCM session id.
    crypto::SessionKeys scratch_;
    uint64_t scratch_id_ = 0;
    metrics::Registry& metrics_;
    const std::vector<std::unique_ptr<io::Endpoint>>* listeners_;
    // Server relay without AES-256-GCM only (128 KiB of buckets).
    std::optional<NewSessionLimiter> notices_;
    std::array<std::byte, crypto::kOverhead + crypto::SessionCiphers::kNoticePayload> notice_buf_{};
    net::Direction tx_dir_;  // the direction this relay sends in
    PieceSealer pieces_;
    Reassembly reassembly_;
    // Answers `porthop probe` (server relay only).
    std::optional<probe::ProbeResponder> probe_;
    uint64_t counter_start_ = 0;
    // Room for a keepalive: header, no payload, tag.
    std::array<std::byte, crypto::kOverhead + 16> keepalive_buf_{};
};

}  // namespace porthop::relay
