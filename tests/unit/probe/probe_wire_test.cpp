// The probe's messages (src/probe/probe_wire) and their framing: what
// opens, what does not, and the bounds of the plaintext.

#include "probe/probe_wire.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace porthop;

namespace {

struct Frame {
    std::vector<std::byte> buf = std::vector<std::byte>(2048);
    std::byte* plain() { return buf.data() + crypto::kHeaderSize; }
};

crypto::Key key() {
    crypto::init();
    return crypto::generate_key();
}

}  // namespace

TEST(ProbeWire, RequestRoundTrips) {
    std::vector<std::byte> buf(100);
    probe::Request r{1200, 1'000'000, 18'000'000, 1'764'000'000'000};
    EXPECT_EQ(probe::write_request(buf, r), 100u);
    auto back = probe::read_request(buf);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->size, 1200);
    EXPECT_EQ(back->rate, 1'000'000u);
    EXPECT_EQ(back->total, 18'000'000u);
    EXPECT_EQ(back->time_ms, 1'764'000'000'000u);
}

TEST(ProbeWire, DataRoundTrips) {
    std::vector<std::byte> buf(1167);
    probe::write_data(buf, {250'000, 123'456'789, 4242});
    auto back = probe::read_data(buf);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->rate, 250'000u);
    EXPECT_EQ(back->sent, 123'456'789u);
    EXPECT_EQ(back->received, 4242u);
}

TEST(ProbeWire, ShortOrOtherKindIsNotAMessage) {
    std::vector<std::byte> buf(probe::kRequestSize);
    probe::write_request(buf, {});
    EXPECT_FALSE(probe::read_request(std::span(buf).first(probe::kRequestSize - 1)));
    EXPECT_FALSE(probe::read_data(buf));  // a request is not data
    probe::write_data(buf, {});
    EXPECT_FALSE(probe::read_request(buf));
    EXPECT_FALSE(probe::read_request({}));
}

TEST(ProbeWire, SealedRequestOpensOnlyWithTheSameKeyAndDirection) {
    crypto::Key psk = key();
    probe::ProbeKeys keys(psk);
    Frame f;
    size_t len = 100;
    probe::write_request({f.plain(), len}, {1200, 1000, 2000, 3000});
    auto wire = keys.to_server.seal(f.plain(), len, 77, 5, crypto::kProbeVersion);
    std::vector<std::byte> copy(wire.begin(), wire.end());

    auto h = crypto::parse_header(copy, crypto::kProbeVersion);
    ASSERT_TRUE(h);
    EXPECT_FALSE(crypto::parse_header(copy));  // not a relay datagram
    EXPECT_EQ(h->session_id, 77u);

    std::vector<std::byte> c1 = copy, c2 = copy, c3 = copy, c4 = copy;
    EXPECT_FALSE(probe::ProbeKeys(key()).to_server.open(c1, *h)) << "another pre-shared key";
    EXPECT_FALSE(keys.to_client.open(c2, *h)) << "the other direction";
    EXPECT_FALSE(crypto::Cipher(psk, crypto::Direction::upstream).open(c3, *h)) << "the relay's key";
    auto plain = keys.to_server.open(c4, *h);
    ASSERT_TRUE(plain);
    EXPECT_EQ(probe::read_request(*plain)->total, 2000u);
}

TEST(ProbeWire, TamperedVersionByteDoesNotOpen) {
    crypto::Key psk = key();
    probe::ProbeKeys keys(psk);
    Frame f;
    probe::write_request({f.plain(), 40}, {});
    auto wire = keys.to_server.seal(f.plain(), 40, 1, 1, crypto::kProbeVersion);
    std::vector<std::byte> copy(wire.begin(), wire.end());
    copy[0] = std::byte{crypto::kVersion};
    auto h = crypto::parse_header(copy);
    ASSERT_TRUE(h);
    EXPECT_FALSE(keys.to_server.open(copy, *h)) << "the version byte is authenticated";
}
