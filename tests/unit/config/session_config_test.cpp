// Session mode's options: --hop-grace (client), --mtu (both), --psk-file.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_helpers.hpp"

namespace porthop::config {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kClient = {"client", "--listen", "127.0.0.1:4433", "--server", "10.0.0.1:20000-20099"};
const std::vector<std::string> kServer = {"server", "--listen", "0.0.0.0:20000-20099", "--upstream", "127.0.0.1:443"};

TEST(SessionConfig, Defaults) {
    Options c = run(kClient);
    EXPECT_EQ(c.hop_grace, 3000ms);
    EXPECT_EQ(c.mtu, 1500u);
    EXPECT_EQ(c.mode, Mode::plain);
    EXPECT_EQ(run(kServer).mtu, 1500u);
}

TEST(SessionConfig, SessionModeWithKeyGraceAndMtu) {
    Options c = run(with(
        kClient, {"--mode", "session", "--psk-file", "/etc/porthop/psk", "--hop-grace", "500ms", "--mtu", "1492"}));
    EXPECT_EQ(c.mode, Mode::session);
    EXPECT_EQ(c.psk_file, "/etc/porthop/psk");
    EXPECT_EQ(c.hop_grace, 500ms);
    EXPECT_EQ(c.mtu, 1492u);
    Options s = run(with(kServer, {"--mode", "session", "--psk-file", "k", "--mtu", "1280"}));
    EXPECT_EQ(s.mtu, 1280u);
}

TEST(SessionConfig, InvalidValuesNameTheOption) {
    EXPECT_NE(error_of(with(kClient, {"--mtu", "100"})).find("--mtu"), std::string::npos);
    EXPECT_NE(error_of(with(kClient, {"--mtu", "70000"})).find("--mtu"), std::string::npos);
    EXPECT_NE(error_of(with(kClient, {"--hop-grace", "soon"})).find("--hop-grace"), std::string::npos);
    // --hop-grace is a client option.
    EXPECT_NE(error_of(with(kServer, {"--hop-grace", "1s"})).find("hop-grace"), std::string::npos);
    EXPECT_NE(error_of(with(kClient, {"--mode", "session"})).find("--psk-file"), std::string::npos);
}

}  // namespace
}  // namespace porthop::config
