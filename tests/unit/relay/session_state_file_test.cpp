#include "relay/session_state_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "relay/framing_session.hpp"

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

using std::chrono::system_clock;
constexpr auto kIdle = std::chrono::seconds(60);

TEST(SessionStateFile, RoundTripsSessionsOfBothFamilies) {
    TempPath t;
    relay::StateFile file{"server", "plain", 3, {}};
    file.sessions.push_back({*net::Address::parse_ip_port("10.0.0.2:40000"), 51000, 3, {}});
    file.sessions.push_back(
        {*net::Address::parse_ip_port("[fd00::2]:40001"), 51001, 7, *net::Address::parse_ip("fd00::1")});
    ASSERT_TRUE(relay::write_state_file(t.path, file));
    auto back = relay::read_state_file(t.path, "server", "plain", kIdle);
    EXPECT_EQ(back.generation, 3u);
    ASSERT_EQ(back.sessions.size(), 2u);
    EXPECT_EQ(back.sessions[0].peer, file.sessions[0].peer);
    EXPECT_EQ(back.sessions[0].upstream_port, 51000);
    EXPECT_EQ(back.sessions[0].listener, 3u);
    EXPECT_TRUE(back.sessions[0].local.empty());
    EXPECT_EQ(back.sessions[1].peer, file.sessions[1].peer);
    EXPECT_TRUE(back.sessions[1].local.same_ip(*net::Address::parse_ip("fd00::1")));
}

TEST(SessionStateFile, RoundTripsSessionModeCountersAndTheClientsServerPort) {
    TempPath t;
    relay::SavedSession s{*net::Address::parse_ip_port("192.168.1.5:5000"), 41000, 0, {}};
    s.server_port = 20007;
    s.id = 0xfedcba9876543210ull;
    s.send_next = (uint64_t{1} << 41) + 17;
    s.recv_newest = 123456789;
    ASSERT_TRUE(relay::write_state_file(t.path, relay::StateFile{"client", "session", 0, {s}}));
    auto back = relay::read_state_file(t.path, "client", "session", kIdle);
    ASSERT_EQ(back.sessions.size(), 1u);
    EXPECT_EQ(back.sessions[0].server_port, 20007);
    EXPECT_EQ(back.sessions[0].id, s.id);
    EXPECT_EQ(back.sessions[0].send_next, s.send_next);
    EXPECT_EQ(back.sessions[0].recv_newest, s.recv_newest);
}

TEST(SessionStateFile, KeysAreNeverWritten) {
    TempPath t;
    relay::SavedSession s{*net::Address::parse_ip_port("192.168.1.5:5000"), 41000, 0, {}};
    s.id = 1;
    s.send_next = 1 << 20;
    ASSERT_TRUE(relay::write_state_file(t.path, relay::StateFile{"client", "session", 0, {s}}));
    std::ifstream in(t.path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("key"), std::string::npos);
    EXPECT_EQ(text.find("psk"), std::string::npos);
}

TEST(SessionStateFile, MissingFileMeansNoSessions) {
    EXPECT_TRUE(relay::read_state_file("/nonexistent/porthop.state", "server", "plain", kIdle).sessions.empty());
}

TEST(SessionStateFile, SkipsSessionsThatDoNotParse) {
    std::string why;
    auto now = system_clock::now();
    std::string saved_at =
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    auto back = relay::parse_state_file(
        R"({"porthop_state":2,"role":"server","mode":"plain","generation":1,"saved_at":)" + saved_at +
            R"(,"sessions":["garbage",{"peer":"10.0.0.2:1","upstream_port":0},)"
            R"({"peer":"10.0.0.2:40000","upstream_port":51000,"listener":1,"local":""}]})",
        "server", "plain", now, kIdle, why);
    EXPECT_EQ(why, "");
    ASSERT_EQ(back.sessions.size(), 1u);
    EXPECT_EQ(back.sessions[0].upstream_port, 51000);
}

TEST(SessionStateFile, CorruptStaleOrForeignFilesAreAFreshStart) {
    TempPath t;
    relay::StateFile file{"server", "session", 5, {}};
    relay::SavedSession s{*net::Address::parse_ip_port("10.0.0.2:40000"), 51000, 1, {}};
    s.id = 7;
    s.send_next = 1 << 20;
    file.sessions.push_back(s);
    ASSERT_TRUE(relay::write_state_file(t.path, file));
    std::ifstream in(t.path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto now = system_clock::now();
    std::string why;
    EXPECT_EQ(relay::parse_state_file(text, "server", "session", now, kIdle, why).sessions.size(), 1u);
    // Another mode, another role, saved longer ago than the idle timeout,
    // cut short, the old text format: no sessions, and a reason.
    for (auto [role, mode, at, body] :
         {std::tuple{"server", "plain", now, text}, std::tuple{"client", "session", now, text},
          std::tuple{"server", "session", now + std::chrono::seconds(61), text},
          std::tuple{"server", "session", now, text.substr(0, text.size() / 2)},
          std::tuple{"server", "session", now, std::string("porthop-server-state 1\n10.0.0.2:4 5 1 -\n")}}) {
        why.clear();
        EXPECT_TRUE(relay::parse_state_file(body, role, mode, at, kIdle, why).sessions.empty()) << body;
        EXPECT_NE(why, "");
    }
}

TEST(SessionStateFile, ARestoredSessionRefusesEveryCounterUpToTheNewestAndSendsFromTheSavedMargin) {
    relay::SavedSession saved{*net::Address::parse_ip_port("10.0.0.2:40000"), 51000, 0, {}};
    saved.id = 42;
    saved.send_next = 5000 + relay::SessionFraming::kCounterMargin;
    saved.recv_newest = 10'000;
    auto s = relay::SessionFraming::restore_counters(saved);
    EXPECT_EQ(s.id, 42u);
    EXPECT_EQ(s.send_counter, saved.send_next);
    for (uint64_t c : {uint64_t{0}, uint64_t{8'000}, uint64_t{9'999}, uint64_t{10'000}}) {
        EXPECT_FALSE(s.window.check(c)) << c;
    }
    EXPECT_TRUE(s.window.check(10'001));
}
