// The session framing's choice of cipher on the client side: what the
// client seals in is its own (AES-256-GCM where it can, until a notice), not
// whatever the server relay's replies came in.

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "crypto/aes_gcm.hpp"
#include "crypto/session_crypto.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "relay/framing_session.hpp"

using namespace porthop;

namespace {

struct Framings {
    loop::EventBasePtr base = loop::make_event_base();
    metrics::Registry metrics;
    crypto::Key psk;
    config::Options client_options;
    config::Options server_options;
    std::optional<relay::SessionFraming> client;
    std::optional<relay::SessionFraming> server;

    Framings() {
        crypto::init();
        psk = crypto::generate_key();
        client_options.role = config::Role::client;
        server_options.role = config::Role::server;
        client.emplace(relay::FramingSetup{*base, metrics, client_options, &psk, nullptr});
        server.emplace(relay::FramingSetup{*base, metrics, server_options, &psk, nullptr});
    }
};

}  // namespace

TEST(SessionFraming, AClientSessionKeepsAesGcmWhenARestartedServerAnswersInXChaCha) {
    Framings f;  // (initialises libsodium, which aes_gcm_available asks)
    if (!crypto::aes_gcm_available()) GTEST_SKIP() << "no AES-NI here: the client uses XChaCha20-Poly1305 anyway";
    relay::SessionFraming::State client = f.client->new_client_state();
    ASSERT_EQ(client.keys.suite, crypto::Suite::aes256gcm);
    // A server session that has not heard the client since its restart
    // answers in XChaCha20-Poly1305.
    relay::SessionFraming::State server = f.server->new_server_state(client.id);
    auto sealed = f.server->keepalive(server);
    std::vector<std::byte> reply(sealed.begin(), sealed.end());
    metrics::DropReason why{};
    ASSERT_TRUE(f.client->open_reply(client, reply, why).has_value());
    EXPECT_EQ(client.keys.suite, crypto::Suite::aes256gcm);
}

TEST(SessionFraming, AClientSessionRefusesAReplayedReply) {
    Framings f;
    relay::SessionFraming::State client = f.client->new_client_state();
    relay::SessionFraming::State server = f.server->new_server_state(client.id);
    auto sealed = f.server->keepalive(server);
    std::vector<std::byte> reply(sealed.begin(), sealed.end());
    std::vector<std::byte> again = reply;
    metrics::DropReason why{};
    ASSERT_TRUE(f.client->open_reply(client, reply, why).has_value());
    EXPECT_FALSE(f.client->open_reply(client, again, why).has_value());
    EXPECT_EQ(why, metrics::DropReason::replay);
}
