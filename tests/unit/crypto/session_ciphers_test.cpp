// Session mode's two ciphers behind crypto::SessionCiphers: AES-256-GCM with
// per-session keys (version 3) beside XChaCha20-Poly1305 (version 1), and the
// server relay's "cipher unsupported" notice (version 4).

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "crypto/aes_gcm.hpp"
#include "crypto/session_ciphers.hpp"

namespace {

using namespace porthop;
using crypto::Direction;
using crypto::kHeaderSize;
using crypto::kOverhead;
using crypto::SessionCiphers;
using crypto::SessionKeys;

// A buffer with head- and tailroom around the payload, as RecvBatch has.
struct Frame {
    std::vector<std::byte> buf;
    explicit Frame(size_t n) : buf(64 + n + 64) {
        for (size_t i = 0; i < n; ++i) buf[64 + i] = static_cast<std::byte>(i * 7 + 1);
    }
    std::byte* payload() { return buf.data() + 64; }
};

struct SessionCiphersTest : ::testing::Test {
    void SetUp() override {
        crypto::init();
        if (crypto_aead_aes256gcm_is_available() == 0) GTEST_SKIP() << "this CPU has no AES-256-GCM";
    }
    crypto::Key psk = crypto::generate_key();
    SessionCiphers client{psk, Direction::upstream, true};
    SessionCiphers server{psk, Direction::downstream, true};
    static constexpr uint64_t kId = 0x0102030405060708ull;

    SessionKeys aes_keys(const SessionCiphers& c, uint64_t id = kId) {
        SessionKeys k;
        c.use_aes_gcm(k, id);
        return k;
    }
};

TEST_F(SessionCiphersTest, AesGcmSealThenOpenRoundTripsInPlace) {
    SessionKeys ck = aes_keys(client), sk = aes_keys(server);
    for (size_t n : {size_t{0}, size_t{1}, size_t{64}, size_t{1200}, size_t{1419}}) {
        Frame f(n);
        std::vector<std::byte> original(f.payload(), f.payload() + n);
        auto wire = client.seal(ck, f.payload(), n, kId, 42);
        ASSERT_EQ(wire.size(), n + kOverhead);
        ASSERT_EQ(wire.data(), f.payload() - kHeaderSize);
        EXPECT_EQ(std::to_integer<int>(wire[0]), crypto::kAesGcmVersion);
        if (n >= 16) {
            EXPECT_NE(std::vector<std::byte>(f.payload(), f.payload() + n), original);  // encrypted
        }
        auto h = crypto::parse_session_header(wire);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->session_id, kId);
        EXPECT_EQ(h->counter, 42u);
        EXPECT_EQ(h->version, crypto::kAesGcmVersion);
        auto plain = server.open(sk, wire, *h);
        ASSERT_TRUE(plain);
        EXPECT_EQ(std::vector<std::byte>(plain->begin(), plain->end()), original);
    }
}

TEST_F(SessionCiphersTest, RepliesRoundTripDownstream) {
    SessionKeys ck = aes_keys(client), sk = aes_keys(server);
    Frame f(300);
    auto wire = server.seal(sk, f.payload(), 300, kId, 0);
    auto h = crypto::parse_session_header(wire);
    ASSERT_TRUE(h);
    EXPECT_TRUE(client.open(ck, wire, *h));
}

TEST_F(SessionCiphersTest, AnotherSessionsKeysDoNotOpen) {
    SessionKeys ck = aes_keys(client), other = aes_keys(server, kId + 1);
    Frame f(100);
    auto wire = client.seal(ck, f.payload(), 100, kId, 0);
    EXPECT_FALSE(server.open(other, wire, *crypto::parse_session_header(wire)));
}

TEST_F(SessionCiphersTest, AnotherPreSharedKeyDoesNotOpen) {
    SessionCiphers stranger(crypto::generate_key(), Direction::downstream, true);
    SessionKeys ck = aes_keys(client), sk = aes_keys(stranger);
    Frame f(100);
    auto wire = client.seal(ck, f.payload(), 100, kId, 0);
    EXPECT_FALSE(stranger.open(sk, wire, *crypto::parse_session_header(wire)));
}

TEST_F(SessionCiphersTest, OwnDirectionDoesNotOpen) {
    SessionKeys ck = aes_keys(client);
    Frame f(100);
    auto wire = client.seal(ck, f.payload(), 100, kId, 0);
    EXPECT_FALSE(client.open(ck, wire, *crypto::parse_session_header(wire)));
}

TEST_F(SessionCiphersTest, TheSameCounterInTwoSessionsGivesTwoCiphertexts) {
    SessionKeys a = aes_keys(client, 1), b = aes_keys(client, 2);
    Frame fa(64), fb(64);
    auto wa = client.seal(a, fa.payload(), 64, 1, 0);
    auto wb = client.seal(b, fb.payload(), 64, 2, 0);
    EXPECT_NE(std::vector<std::byte>(wa.begin() + kHeaderSize, wa.end()),
              std::vector<std::byte>(wb.begin() + kHeaderSize, wb.end()));
}

TEST_F(SessionCiphersTest, EverySingleBitFlipIsRejected) {
    SessionKeys ck = aes_keys(client), sk = aes_keys(server);
    Frame f(40);
    auto wire = client.seal(ck, f.payload(), 40, kId, 9);
    const std::vector<std::byte> sealed(wire.begin(), wire.end());
    for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
        std::vector<std::byte> d = sealed;
        d[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
        auto h = crypto::parse_session_header(d);
        if (!h) continue;  // the version byte no longer parses
        EXPECT_FALSE(server.open(sk, d, *h)) << "bit " << bit;
    }
}

TEST_F(SessionCiphersTest, TheVersionByteNamesTheCipher) {
    SessionKeys ck = aes_keys(client), sk = aes_keys(server), xk;
    Frame f(100), g(100);
    // AES-256-GCM relabelled as version 1 and XChaCha20-Poly1305 as version 3:
    // neither opens (the version byte is authenticated, and picks the cipher).
    auto aes = client.seal(ck, f.payload(), 100, kId, 0);
    aes[0] = std::byte{crypto::kVersion};
    EXPECT_FALSE(server.open(sk, aes, *crypto::parse_session_header(aes)));
    auto xchacha = client.seal(xk, g.payload(), 100, kId, 0);
    EXPECT_EQ(std::to_integer<int>(xchacha[0]), crypto::kVersion);
    xchacha[0] = std::byte{crypto::kAesGcmVersion};
    EXPECT_FALSE(server.open(sk, xchacha, *crypto::parse_session_header(xchacha)));
}

TEST_F(SessionCiphersTest, AesGcmWithoutAReceivingKeyOpensNothing) {
    SessionKeys ck = aes_keys(client), none;
    Frame f(100);
    auto wire = client.seal(ck, f.payload(), 100, kId, 0);
    EXPECT_FALSE(server.open(none, wire, *crypto::parse_session_header(wire)));
}

TEST_F(SessionCiphersTest, TheFragmentBitIsSealedIntoTheVersionAndOpens) {
    SessionKeys ck = aes_keys(client), sk = aes_keys(server);
    Frame f(100);
    auto wire = client.seal(ck, f.payload(), 100, kId, 5, 0x80);
    EXPECT_EQ(std::to_integer<int>(wire[0]), 0x83);
    auto h = crypto::parse_header(wire, 0x83);
    ASSERT_TRUE(h);
    EXPECT_TRUE(server.open(sk, wire, *h));
}

TEST_F(SessionCiphersTest, OtherVersionsDoNotParseAsRelayData) {
    std::vector<std::byte> d(kOverhead + 10);
    for (int v : {0, 2, 4, 0x80, 0x82, 0x84, 0xff}) {
        d[0] = static_cast<std::byte>(v);
        EXPECT_FALSE(crypto::parse_session_header(d)) << v;
    }
    d[0] = std::byte{crypto::kAesGcmVersion};
    EXPECT_FALSE(crypto::parse_session_header(std::span(d).first(kOverhead - 1)));
}

TEST_F(SessionCiphersTest, PiecesOfEitherCipherParseWithTheirVersion) {
    std::vector<std::byte> d(kOverhead + 10);
    for (int v : {0x81, 0x83}) {
        d[0] = static_cast<std::byte>(v);
        auto h = crypto::parse_session_header(d);
        ASSERT_TRUE(h) << v;
        EXPECT_EQ(h->version, v);
    }
}

TEST_F(SessionCiphersTest, ANoticeRefusesAesGcmForItsSessionOnly) {
    std::array<std::byte, kOverhead + SessionCiphers::kNoticePayload> buf{};
    auto notice = server.seal_notice(buf.data() + kHeaderSize, kId);
    EXPECT_EQ(std::to_integer<int>(notice[0]), crypto::kNoticeVersion);
    EXPECT_EQ(notice.size(), kOverhead + 1);
    EXPECT_TRUE(client.is_aes_gcm_refusal(notice, kId));
    EXPECT_FALSE(client.is_aes_gcm_refusal(notice, kId + 1));
}

TEST_F(SessionCiphersTest, AForgedOrTamperedNoticeIsNoRefusal) {
    SessionCiphers stranger(crypto::generate_key(), Direction::downstream, false);
    std::array<std::byte, kOverhead + SessionCiphers::kNoticePayload> buf{};
    auto forged = stranger.seal_notice(buf.data() + kHeaderSize, kId);
    EXPECT_FALSE(client.is_aes_gcm_refusal(forged, kId));
    auto notice = server.seal_notice(buf.data() + kHeaderSize, kId);
    notice[kHeaderSize] ^= std::byte{1};
    EXPECT_FALSE(client.is_aes_gcm_refusal(notice, kId));
    // Relay data is no notice either.
    SessionKeys xk;
    Frame f(1);
    auto data = server.seal(xk, f.payload(), 1, kId, 0);
    EXPECT_FALSE(client.is_aes_gcm_refusal(data, kId));
}

TEST_F(SessionCiphersTest, TheEnvironmentCanTurnAesGcmOff) {
    EXPECT_TRUE(crypto::aes_gcm_available());
    ::setenv("PORTHOP_NO_AESGCM", "1", 1);
    EXPECT_FALSE(crypto::aes_gcm_available());
    ::unsetenv("PORTHOP_NO_AESGCM");
    EXPECT_TRUE(crypto::aes_gcm_available());
}

}  // namespace
