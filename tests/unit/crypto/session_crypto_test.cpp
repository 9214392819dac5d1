// Session mode's datagram protection: seal/open in place, tamper and key
// checks, header parsing on garbage, key encoding and the key file rules.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "crypto/session_crypto.hpp"

namespace {

using namespace porthop;
using crypto::Cipher;
using crypto::Direction;
using crypto::kHeaderSize;
using crypto::kOverhead;

struct Sodium : ::testing::Test {
    void SetUp() override { crypto::init(); }
};

// A buffer with head- and tailroom around the payload, as RecvBatch has.
struct Frame {
    std::vector<std::byte> buf;
    size_t len;
    explicit Frame(size_t n) : buf(64 + n + 64), len(n) {
        for (size_t i = 0; i < n; ++i) buf[64 + i] = static_cast<std::byte>(i * 7 + 1);
    }
    std::byte* payload() { return buf.data() + 64; }
};

using SessionCrypto = Sodium;

TEST_F(SessionCrypto, SealThenOpenRoundTripsInPlace) {
    auto psk = crypto::generate_key();
    Cipher tx(psk, Direction::upstream), rx(psk, Direction::upstream);
    for (size_t n : {size_t{0}, size_t{1}, size_t{1200}, size_t{1419}}) {
        Frame f(n);
        std::vector<std::byte> original(f.payload(), f.payload() + n);
        auto wire = tx.seal(f.payload(), n, 0x0102030405060708ull, 42);
        ASSERT_EQ(wire.size(), n + kOverhead);
        ASSERT_EQ(wire.data(), f.payload() - kHeaderSize);
        EXPECT_EQ(std::to_integer<int>(wire[0]), crypto::kVersion);
        if (n >= 16) {
            EXPECT_NE(std::vector<std::byte>(f.payload(), f.payload() + n), original);  // encrypted
        }
        auto h = crypto::parse_header(wire);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->session_id, 0x0102030405060708ull);
        EXPECT_EQ(h->counter, 42u);
        auto plain = rx.open(wire, *h);
        ASSERT_TRUE(plain);
        EXPECT_EQ(std::vector<std::byte>(plain->begin(), plain->end()), original);
    }
}

TEST_F(SessionCrypto, EverySingleBitFlipIsRejected) {
    auto psk = crypto::generate_key();
    Cipher tx(psk, Direction::downstream), rx(psk, Direction::downstream);
    Frame f(100);
    auto wire = tx.seal(f.payload(), f.len, 7, 9);
    std::vector<std::byte> good(wire.begin(), wire.end());
    for (size_t bit = 0; bit < good.size() * 8; ++bit) {
        std::vector<std::byte> bad = good;
        bad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        auto h = crypto::parse_header(bad);
        if (!h) continue;  // the version byte: rejected by the parser
        EXPECT_FALSE(rx.open(bad, *h)) << "bit " << bit;
    }
    auto h = crypto::parse_header(good);
    EXPECT_TRUE(rx.open(good, *h));
}

TEST_F(SessionCrypto, WrongKeyOrWrongDirectionIsRejected) {
    auto psk = crypto::generate_key();
    auto other = crypto::generate_key();
    Cipher tx(psk, Direction::upstream);
    for (const Cipher& rx : {Cipher(other, Direction::upstream), Cipher(psk, Direction::downstream)}) {
        Frame f(64);
        auto wire = tx.seal(f.payload(), f.len, 1, 1);
        auto h = crypto::parse_header(wire);
        ASSERT_TRUE(h);
        EXPECT_FALSE(rx.open(wire, *h));
    }
}

TEST_F(SessionCrypto, TruncatedOrExtendedDatagramsAreRejected) {
    auto psk = crypto::generate_key();
    Cipher tx(psk, Direction::upstream), rx(psk, Direction::upstream);
    Frame f(50);
    auto wire = tx.seal(f.payload(), f.len, 3, 4);
    std::vector<std::byte> good(wire.begin(), wire.end());
    for (size_t n = 0; n < good.size(); ++n) {
        std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<long>(n));
        auto h = crypto::parse_header(cut);
        if (h) {
            EXPECT_FALSE(rx.open(cut, *h)) << n;
        }
    }
    std::vector<std::byte> longer = good;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(rx.open(longer, *crypto::parse_header(longer)));
}

TEST_F(SessionCrypto, HeaderParserRejectsGarbageOfEveryLength) {
    // Each length gets its own exact-size heap buffer, so ASan sees any read
    // past the end.
    for (size_t n = 0; n <= 64; ++n) {
        auto buf = std::make_unique<std::byte[]>(n ? n : 1);
        for (size_t i = 0; i < n; ++i) buf[i] = static_cast<std::byte>(0xA5 ^ i);
        std::span<std::byte> s(buf.get(), n);
        EXPECT_FALSE(crypto::parse_header(s)) << n;  // wrong version byte
        if (n > 0) buf[0] = std::byte{crypto::kVersion};
        auto h = crypto::parse_header(s);
        EXPECT_EQ(h.has_value(), n >= kOverhead) << n;
        Cipher rx(crypto::generate_key(), Direction::upstream);
        if (h) {
            EXPECT_FALSE(rx.open(s, *h)) << n;
        }
    }
}

TEST_F(SessionCrypto, KeysEncodeAsOneBase64Line) {
    auto k = crypto::generate_key();
    auto text = crypto::encode_key(k);
    EXPECT_EQ(text.size(), 44u);
    auto back = crypto::decode_key(text + "\n");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->bytes, k.bytes);
    EXPECT_FALSE(crypto::decode_key(""));
    EXPECT_FALSE(crypto::decode_key(text.substr(0, 43)));
    EXPECT_FALSE(crypto::decode_key(text + "A"));
    EXPECT_FALSE(crypto::decode_key(std::string(44, '*')));
    EXPECT_NE(crypto::encode_key(crypto::generate_key()), text);
}

TEST_F(SessionCrypto, KeyFileMustBePrivateAndHoldOneKey) {
    std::string path = ::testing::TempDir() + "porthop_psk_test";
    auto k = crypto::generate_key();
    { std::ofstream(path) << crypto::encode_key(k) << "\n"; }
    ::chmod(path.c_str(), 0600);
    EXPECT_EQ(crypto::load_key_file(path).bytes, k.bytes);
    ::chmod(path.c_str(), 0644);
    try {
        crypto::load_key_file(path);
        ADD_FAILURE() << "a world-readable key file was accepted";
    } catch (const crypto::KeyError& e) {
        EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    { std::ofstream(path) << "not a key\n"; }
    ::chmod(path.c_str(), 0600);
    EXPECT_THROW(crypto::load_key_file(path), crypto::KeyError);
    std::remove(path.c_str());
    EXPECT_THROW(crypto::load_key_file(path), crypto::KeyError);
}

}  // namespace
