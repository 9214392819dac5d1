// Session mode's datagram protection (src/crypto/session_crypto.hpp,
// session_ciphers.hpp): any datagram through crypto::parse_header /
// parse_session_header and Cipher::open / SessionCiphers::open (both
// ciphers, AES-256-GCM where the CPU has it) under a fixed key
// (never a crash, never a read outside the datagram, never a forged
// plaintext); seal -> open round trips; and crypto::ReplayWindow against a
// plain model (a set of accepted counters) over a sequence of counters taken
// from the input.
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "crypto/session_ciphers.hpp"
#include "crypto/session_crypto.hpp"
#include "fuzz_common.hpp"

using namespace porthop;

namespace {
crypto::Key key_of(uint8_t fill) {
    crypto::Key k;
    k.bytes.fill(fill);
    return k;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    crypto::init();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static const crypto::Cipher c2s(key_of(7), crypto::Direction::upstream);
    static const crypto::Cipher s2c(key_of(7), crypto::Direction::downstream);
    static const bool aes = crypto::aes_gcm_available();
    static const crypto::SessionCiphers client(key_of(7), crypto::Direction::upstream, aes);
    static const crypto::SessionCiphers server(key_of(7), crypto::Direction::downstream, aes);
    porthop_fuzz::Reader r(data, size);
    const uint8_t mode = r.u8();

    if (mode % 3 == 0) {
        // A datagram from anyone: parse and try to open it (exact-size heap
        // copy, so ASan sees any read past its end).
        auto rest = r.rest();
        std::vector<std::byte> dgram(rest.size());
        if (!rest.empty()) std::memcpy(dgram.data(), rest.data(), rest.size());
        auto h = crypto::parse_header(dgram);
        if (!h) return 0;
        FUZZ_CHECK(dgram.size() >= crypto::kOverhead);
        auto plain = c2s.open(dgram, *h);
        // Random bytes never carry a valid tag (2^-128).
        FUZZ_CHECK(!plain.has_value());
        if (auto any = crypto::parse_session_header(dgram)) {
            crypto::SessionKeys keys;
            if (aes) server.derive_rx(keys, any->session_id);
            FUZZ_CHECK(!server.open(keys, dgram, *any).has_value());
        }
    } else if (mode % 3 == 1) {
        // seal -> parse -> open round trip; the other direction's key and
        // any flipped byte must fail.
        uint64_t id = 0, counter = 0;
        for (int i = 0; i < 8; ++i) id = (id << 8) | r.u8();
        for (int i = 0; i < 8; ++i) counter = (counter << 8) | r.u8();
        const uint8_t flip = r.u8();
        auto payload = r.rest();
        std::vector<std::byte> buf(crypto::kHeaderSize + payload.size() + crypto::kTagSize);
        if (!payload.empty()) std::memcpy(buf.data() + crypto::kHeaderSize, payload.data(), payload.size());
        auto sealed = c2s.seal(buf.data() + crypto::kHeaderSize, payload.size(), id, counter);
        FUZZ_CHECK(sealed.size() == buf.size());
        auto h = crypto::parse_header(sealed);
        FUZZ_CHECK(h.has_value());
        FUZZ_CHECK(h->session_id == id && h->counter == counter);
        std::vector<std::byte> copy(sealed.begin(), sealed.end());
        FUZZ_CHECK(!s2c.open(copy, *h).has_value());
        copy.assign(sealed.begin(), sealed.end());
        copy[flip % copy.size()] ^= std::byte{1};
        if (auto h2 = crypto::parse_header(copy)) FUZZ_CHECK(!c2s.open(copy, *h2).has_value());
        auto plain = c2s.open(sealed, *h);
        FUZZ_CHECK(plain.has_value());
        FUZZ_CHECK(plain->size() == payload.size());
        FUZZ_CHECK(payload.empty() || std::memcmp(plain->data(), payload.data(), payload.size()) == 0);
        if (aes) {
            // The same through AES-256-GCM with the session's own keys; another
            // session's keys and any flipped byte must fail.
            crypto::SessionKeys ck, sk, other;
            client.use_aes_gcm(ck, id);
            server.use_aes_gcm(sk, id);
            server.use_aes_gcm(other, id ^ 1);
            if (!payload.empty()) std::memcpy(buf.data() + crypto::kHeaderSize, payload.data(), payload.size());
            auto wire = client.seal(ck, buf.data() + crypto::kHeaderSize, payload.size(), id, counter);
            auto ha = crypto::parse_session_header(wire);
            FUZZ_CHECK(ha.has_value() && ha->version == crypto::kAesGcmVersion);
            copy.assign(wire.begin(), wire.end());
            FUZZ_CHECK(!server.open(other, copy, *ha).has_value());
            copy.assign(wire.begin(), wire.end());
            copy[flip % copy.size()] ^= std::byte{1};
            if (auto h2 = crypto::parse_session_header(copy)) FUZZ_CHECK(!server.open(sk, copy, *h2).has_value());
            auto opened = server.open(sk, wire, *ha);
            FUZZ_CHECK(opened.has_value() && opened->size() == payload.size());
            FUZZ_CHECK(payload.empty() || std::memcmp(opened->data(), payload.data(), payload.size()) == 0);
        }
    } else {
        // The replay window against a model.
        crypto::ReplayWindow w;
        std::set<uint64_t> seen;
        uint64_t top = 0;
        while (!r.empty()) {
            const uint8_t op = r.u8();
            uint64_t c = 0;
            switch (op & 3) {
                case 0: c = top + 1 + (r.u8() & 7); break;                         // forwards
                case 1: c = top - std::min<uint64_t>(top, r.u16() % 2100); break;  // backwards, near the edge
                case 2: c = top + r.u16(); break;                                  // a jump
                default:
                    for (int i = 0; i < 8; ++i) c = (c << 8) | r.u8();
                    break;  // anything
            }
            bool model = c > top || (top - c < crypto::ReplayWindow::kWindow && !seen.count(c));
            if (seen.empty() && c == 0) model = true;  // nothing accepted yet
            FUZZ_CHECK(w.check(c) == model);
            if (model && (op & 4)) {
                w.accept(c);
                seen.insert(c);
                top = std::max(top, c);
                FUZZ_CHECK(w.newest() == top);
                FUZZ_CHECK(!w.check(c));
            }
        }
    }
    return 0;
}
