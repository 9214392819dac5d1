// `porthop status` without a relay: the /sessions JSON both ways, the table,
// and the one-line errors when nothing (or something else) answers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "status/http_get.hpp"
#include "status/sessions_json.hpp"
#include "status/status_command.hpp"
#include "status/status_table.hpp"

namespace porthop::status {
namespace {

using namespace std::chrono_literals;
using metrics::HopReason;

relay::SessionsReport client_report() {
    relay::SessionsReport r{"client", "plain", 3, 2, {}};
    relay::HopReport hops;
    hops.by_reason[size_t(HopReason::interval)] = 12;
    hops.by_reason[size_t(HopReason::stall)] = 2;
    hops.last = HopReason::stall;
    hops.last_seconds_ago = 1.25;
    hops.port_seconds = 1.25;
    hops.port_bytes = 96'000;
    r.sessions.push_back({"10.77.1.2:41234", {20017}, 125.5, 0.02, 1'200'000, 48'300'000, 12'000, 987'654, hops});
    r.sessions.push_back({"[fd00::2]:5000", {20001}, 3, 2.5, 10, 0, 0, 0, relay::HopReport{}});
    return r;
}

relay::SessionsReport server_report() {
    relay::SessionsReport r{"server", "session", 1, 100, {}};
    r.sessions.push_back({"10.77.2.9:40001", {20033}, 61, 0.5, 5000, 7000, 100, 200, std::nullopt});
    return r;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// A TCP port on loopback where nothing listens (bound, never listening).
struct ClosedPort {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    net::Address address;
    ClosedPort() {
        auto any = *net::Address::parse_ip("127.0.0.1", 0);
        ::bind(fd, any.sockaddr_ptr(), any.length());
        socklen_t len = net::Address::capacity();
        ::getsockname(fd, address.sockaddr_ptr(), &len);
    }
    ~ClosedPort() { ::close(fd); }
};

// A TCP listener that accepts (in the kernel's backlog) and never answers.
struct SilentListener : ClosedPort {
    SilentListener() { ::listen(fd, 4); }
};

TEST(SessionsJson, ClientDocumentHasEveryFieldOfTheReadme) {
    auto j = nlohmann::json::parse(to_json(client_report()));
    EXPECT_EQ(j["role"], "client");
    EXPECT_EQ(j["mode"], "plain");
    EXPECT_EQ(j["sessions_open"], 3);
    EXPECT_EQ(j["limit"], 2);
    EXPECT_EQ(j["order"], "last_active");
    ASSERT_EQ(j["sessions"].size(), 2u);
    const auto& s = j["sessions"][0];
    EXPECT_EQ(s["peer"], "10.77.1.2:41234");
    EXPECT_EQ(s["ports"], nlohmann::json::array({20017}));
    EXPECT_EQ(s["age_seconds"], 125.5);
    EXPECT_EQ(s["idle_seconds"], 0.02);
    EXPECT_EQ(s["bytes_up"], 1'200'000);
    EXPECT_EQ(s["bytes_down"], 48'300'000);
    EXPECT_EQ(s["rate_up_bytes_per_second"], 12'000);
    EXPECT_EQ(s["rate_down_bytes_per_second"], 987'654);
    EXPECT_EQ(s["port_seconds"], 1.25);
    EXPECT_EQ(s["port_bytes"], 96'000);
    EXPECT_EQ(s["hops"],
              (nlohmann::json{{"interval", 12}, {"bytes", 0}, {"stall", 2}, {"slowdown", 0}, {"learned", 0}}));
    EXPECT_EQ(s["last_hop"], (nlohmann::json{{"reason", "stall"}, {"seconds_ago", 1.25}}));
    EXPECT_TRUE(j["sessions"][1]["last_hop"].is_null());
}

TEST(SessionsJson, ServerSessionsCarryNoHopFields) {
    auto s = nlohmann::json::parse(to_json(server_report()))["sessions"][0];
    EXPECT_EQ(s["ports"], nlohmann::json::array({20033}));
    EXPECT_FALSE(s.contains("hops"));
    EXPECT_FALSE(s.contains("last_hop"));
    EXPECT_FALSE(s.contains("port_seconds"));
}

TEST(SessionsJson, ReadsBackWhatItWrote) {
    relay::SessionsReport back = from_json(to_json(client_report()));
    EXPECT_EQ(back.role, "client");
    EXPECT_EQ(back.open, 3u);
    ASSERT_EQ(back.sessions.size(), 2u);
    const auto& s = back.sessions[0];
    EXPECT_EQ(s.peer, "10.77.1.2:41234");
    EXPECT_EQ(s.bytes_down, 48'300'000u);
    ASSERT_TRUE(s.hops);
    EXPECT_EQ(s.hops->by_reason[size_t(HopReason::interval)], 12u);
    EXPECT_EQ(s.hops->last, HopReason::stall);
    EXPECT_FALSE(back.sessions[1].hops->last);
    EXPECT_FALSE(from_json(to_json(server_report())).sessions[0].hops);
}

TEST(SessionsJson, AMissingFieldIsNamed) {
    try {
        from_json(R"({"role":"client","mode":"plain","sessions_open":1,"limit":1,"sessions":[{"ports":[1]}]})");
        FAIL() << "no error";
    } catch (const SessionsJsonError& e) {
        EXPECT_NE(std::string(e.what()).find("'peer'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(from_json("<html>"), SessionsJsonError);
}

TEST(StatusTable, OneLinePerSessionUnderATitleAndAHeader) {
    auto out = lines(render_table(client_report(), "127.0.0.1:9101"));
    ASSERT_EQ(out.size(), 5u) << render_table(client_report(), "127.0.0.1:9101");
    EXPECT_EQ(out[0], "porthop client relay (plain mode) at 127.0.0.1:9101: 3 sessions, most recently active first");
    EXPECT_EQ(out[1].rfind("PEER", 0), 0u);
    for (const char* cell : {"10.77.1.2:41234", "20017", "1.2s, 96.0 kB", "1.20 MB", "48.3 MB", "96.0 kbit/s",
                             "7.90 Mbit/s", "1.2s ago, stall", "14 (interval 12, stall 2)"}) {
        EXPECT_NE(out[2].find(cell), std::string::npos) << cell << " not in: " << out[2];
    }
    EXPECT_NE(out[3].find("[fd00::2]:5000"), std::string::npos);
    EXPECT_EQ(out[4], "... and 1 more, less recently active (2 shown; GET /sessions?limit=N on the relay lists more)");
}

TEST(StatusTable, ColumnsLineUp) {
    auto out = lines(render_table(client_report(), "x"));
    size_t up = out[1].find("UP");
    EXPECT_EQ(out[2].substr(up, 7), "1.20 MB");
    EXPECT_EQ(out[3].substr(up, 4), "10 B");
}

TEST(StatusTable, ServerShowsThePortLastHeardOnAndNoHops) {
    auto out = lines(render_table(server_report(), "127.0.0.1:9102"));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0], "porthop server relay (session mode) at 127.0.0.1:9102: 1 session, most recently active first");
    EXPECT_EQ(out[1].find("HOPS"), std::string::npos);
    EXPECT_NE(out[2].find("20033"), std::string::npos);
    EXPECT_NE(out[2].find("1m01s"), std::string::npos) << out[2];
}

TEST(StatusTable, NoSessionsIsOneLine) {
    relay::SessionsReport empty{"client", "session", 0, 100, {}};
    EXPECT_EQ(render_table(empty, "127.0.0.1:9101"),
              "porthop client relay (session mode) at 127.0.0.1:9101: 0 sessions\n");
}

TEST(StatusTable, HumanUnits) {
    EXPECT_EQ(human_bytes(0), "0 B");
    EXPECT_EQ(human_bytes(999), "999 B");
    EXPECT_EQ(human_bytes(1000), "1.00 kB");
    EXPECT_EQ(human_bytes(48'300'000), "48.3 MB");
    EXPECT_EQ(human_bytes(512'000'000), "512 MB");
    EXPECT_EQ(human_rate(1'000'000), "8.00 Mbit/s");
    EXPECT_EQ(human_duration(0.85), "850ms");
    EXPECT_EQ(human_duration(4.24), "4.2s");
    EXPECT_EQ(human_duration(192), "3m12s");
    EXPECT_EQ(human_duration(7500), "2h05m");
}

TEST(HttpGet, NothingListeningIsUnreachableAtOnce) {
    ClosedPort closed;
    auto start = std::chrono::steady_clock::now();
    try {
        http_get(closed.address, "/sessions", 2000ms, 1 << 20);
        FAIL() << "no error";
    } catch (const HttpGetError& e) {
        EXPECT_EQ(e.kind, HttpGetError::Kind::unreachable);
        EXPECT_EQ(std::string(e.what()), closed.address.to_string() + ": Connection refused");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(HttpGet, ASilentServerTimesOutAtTheDeadline) {
    SilentListener silent;
    auto start = std::chrono::steady_clock::now();
    try {
        http_get(silent.address, "/sessions", 200ms, 1 << 20);
        FAIL() << "no error";
    } catch (const HttpGetError& e) {
        EXPECT_EQ(e.kind, HttpGetError::Kind::timeout);
        EXPECT_NE(std::string(e.what()).find("no answer within 200 ms"), std::string::npos) << e.what();
    }
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 200ms);
    EXPECT_LT(elapsed, 1s);
}

TEST(StatusCommand, NoRelayIsOneLineThatNamesTheAddressAndTheFlag) {
    ClosedPort closed;
    config::StatusOptions options{closed.address, false};
    try {
        show_status(options);
        FAIL() << "no error";
    } catch (const StatusError& e) {
        std::string what = e.what();
        EXPECT_EQ(what.find('\n'), std::string::npos);
        EXPECT_EQ(what, closed.address.to_string() +
                            ": Connection refused; is a porthop relay running there with "
                            "--metrics " +
                            closed.address.to_string() + "?");
    }
}

}  // namespace
}  // namespace porthop::status
