// crypto::AesGcmKey runs AES-256-GCM in libgcrypt; relays built before that
// ran it in libsodium. The wire must not notice: a version-3 datagram is
// AES-256-GCM under KDF(master, session id, "porthgcm"), nonce 4 zero bytes
// || counter, the header as associated data, the tag after the ciphertext,
// whoever computes it (docs/protocol.md, "Ciphers").

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <vector>

#include "crypto/aes_gcm.hpp"

namespace {

using namespace porthop;
using crypto::kHeaderSize;
using crypto::kTagSize;

constexpr uint64_t kId = 0x1122334455667788ull;
constexpr uint64_t kCounter = 0x0000010203040506ull;

struct AesGcmKeyTest : ::testing::Test {
    void SetUp() override {
        crypto::init();
        if (crypto_aead_aes256gcm_is_available() == 0) GTEST_SKIP() << "this CPU has no AES-256-GCM in libsodium";
        crypto_kdf_derive_from_key(session_key.data(), session_key.size(), kId, "porthgcm", master.bytes.data());
        key.derive(master, kId);
        for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(i * 13 + 5);
    }
    static std::array<unsigned char, 12> nonce() {
        std::array<unsigned char, 12> n{};
        for (int i = 0; i < 8; ++i) n[size_t(11 - i)] = static_cast<unsigned char>(kCounter >> (8 * i));
        return n;
    }
    static unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

    crypto::Key master = crypto::generate_key();
    std::array<unsigned char, 32> session_key{};
    crypto::AesGcmKey key;
    std::vector<std::byte> payload = std::vector<std::byte>(1500);
};

// Sizes that are and are not a multiple of the 16-byte block.
TEST_F(AesGcmKeyTest, ASealedDatagramOpensWithLibsodiumsAes256Gcm) {
    for (size_t size : {size_t{1}, size_t{64}, size_t{777}, size_t{1200}, size_t{1419}}) {
        SCOPED_TRACE(size);
        std::vector<std::byte> buf(kHeaderSize + size + kTagSize);
        std::copy(payload.begin(), payload.begin() + long(size), buf.begin() + kHeaderSize);
        auto wire = key.seal(buf.data() + kHeaderSize, size, kId, kCounter, crypto::kAesGcmVersion);
        ASSERT_EQ(wire.size(), buf.size());

        std::byte* body = buf.data() + kHeaderSize;
        auto n = nonce();
        ASSERT_EQ(crypto_aead_aes256gcm_decrypt_detached(uc(body), nullptr, uc(body), size, uc(body + size),
                                                         uc(buf.data()), kHeaderSize, n.data(), session_key.data()),
                  0);
        EXPECT_TRUE(std::equal(body, body + size, payload.begin()));
    }
}

TEST_F(AesGcmKeyTest, ADatagramSealedByLibsodiumOpens) {
    for (size_t size : {size_t{1}, size_t{64}, size_t{777}, size_t{1200}, size_t{1419}}) {
        SCOPED_TRACE(size);
        std::vector<std::byte> buf(kHeaderSize + size + kTagSize);
        crypto::put_header(buf.data(), crypto::kAesGcmVersion, kId, kCounter);
        std::byte* body = buf.data() + kHeaderSize;
        std::copy(payload.begin(), payload.begin() + long(size), body);
        auto n = nonce();
        crypto_aead_aes256gcm_encrypt_detached(uc(body), uc(body + size), nullptr, uc(body), size, uc(buf.data()),
                                               kHeaderSize, nullptr, n.data(), session_key.data());

        auto h = crypto::parse_header(buf, crypto::kAesGcmVersion);
        ASSERT_TRUE(h);
        auto plain = key.open(buf, *h);
        ASSERT_TRUE(plain);
        EXPECT_TRUE(std::equal(plain->begin(), plain->end(), payload.begin()));
        EXPECT_EQ(plain->size(), size);
    }
}

TEST_F(AesGcmKeyTest, AChangedHeaderByteFailsTheTag) {
    for (size_t size : {size_t{64}, size_t{1200}}) {
        SCOPED_TRACE(size);
        std::vector<std::byte> buf(kHeaderSize + size + kTagSize);
        std::copy(payload.begin(), payload.begin() + long(size), buf.begin() + kHeaderSize);
        key.seal(buf.data() + kHeaderSize, size, kId, kCounter, crypto::kAesGcmVersion);
        auto h = crypto::parse_header(buf, crypto::kAesGcmVersion);
        ASSERT_TRUE(h);
        buf[kHeaderSize - 1] ^= std::byte{1};  // in the associated data only: h keeps the nonce
        EXPECT_FALSE(key.open(buf, *h));
    }
}

TEST_F(AesGcmKeyTest, AKeyNeverDerivedOpensNothing) {
    std::vector<std::byte> buf(kHeaderSize + payload.size() + kTagSize);
    std::copy(payload.begin(), payload.end(), buf.begin() + kHeaderSize);
    key.seal(buf.data() + kHeaderSize, payload.size(), kId, kCounter, crypto::kAesGcmVersion);
    auto h = crypto::parse_header(buf, crypto::kAesGcmVersion);
    ASSERT_TRUE(h);
    crypto::AesGcmKey none;
    EXPECT_FALSE(none.open(buf, *h));
}

TEST_F(AesGcmKeyTest, AKeyDerivedAgainForAnotherSessionOpensOnlyThatSessionsDatagrams) {
    std::vector<std::byte> buf(kHeaderSize + payload.size() + kTagSize);
    std::copy(payload.begin(), payload.end(), buf.begin() + kHeaderSize);
    key.seal(buf.data() + kHeaderSize, payload.size(), kId, kCounter, crypto::kAesGcmVersion);
    const std::vector<std::byte> sealed = buf;
    auto h = crypto::parse_header(buf, crypto::kAesGcmVersion);
    ASSERT_TRUE(h);

    crypto::AesGcmKey scratch;  // as the server relay's: one session id, then another
    scratch.derive(master, kId + 1);
    EXPECT_FALSE(scratch.open(buf, *h));
    buf = sealed;
    scratch.derive(master, kId);
    EXPECT_TRUE(scratch.open(buf, *h));
}

}  // namespace
