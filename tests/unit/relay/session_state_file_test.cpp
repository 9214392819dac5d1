#include "relay/session_state_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

using namespace porthop;

namespace {
struct TempPath {
    std::string path;
    TempPath() {
        char dir[] = "/tmp/porthop-state-XXXXXX";
        path = std::string(mkdtemp(dir)) + "/server.state";
    }
    ~TempPath() {
        std::remove(path.c_str());
        std::remove((path + ".tmp").c_str());
        rmdir(path.substr(0, path.rfind('/')).c_str());
    }
};
}  // namespace

TEST(SessionStateFile, RoundTripsSessionsOfBothFamilies) {
    TempPath t;
    std::vector<relay::SavedSession> saved{
        {*net::Address::parse_ip_port("10.0.0.2:40000"), 51000, 3, {}},
        {*net::Address::parse_ip_port("[fd00::2]:40001"), 51001, 7, *net::Address::parse_ip("fd00::1")},
    };
    ASSERT_TRUE(relay::write_session_state(t.path, saved));
    auto back = relay::read_session_state(t.path);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].peer, saved[0].peer);
    EXPECT_EQ(back[0].upstream_port, 51000);
    EXPECT_EQ(back[0].listener, 3u);
    EXPECT_TRUE(back[0].local.empty());
    EXPECT_EQ(back[1].peer, saved[1].peer);
    EXPECT_TRUE(back[1].local.same_ip(*net::Address::parse_ip("fd00::1")));
}

TEST(SessionStateFile, MissingFileMeansNoSessions) {
    EXPECT_TRUE(relay::read_session_state("/nonexistent/porthop.state").empty());
}

TEST(SessionStateFile, SkipsLinesThatDoNotParse) {
    TempPath t;
    std::ofstream(t.path) << "porthop-server-state 1\ngarbage\n10.0.0.2:1 0 0 -\n10.0.0.2:40000 51000 1 -\n";
    auto back = relay::read_session_state(t.path);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].upstream_port, 51000);
}

TEST(SessionStateFile, IgnoresAFileOfAnotherVersion) {
    TempPath t;
    std::ofstream(t.path) << "porthop-server-state 9\n10.0.0.2:40000 51000 1 -\n";
    EXPECT_TRUE(relay::read_session_state(t.path).empty());
}
