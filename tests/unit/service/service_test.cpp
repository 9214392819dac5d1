// Unit tests for src/service: sd_notify readiness and watchdog, SIGHUP reload.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/parse.hpp"
#include "loop/event_base.hpp"
#include "service/notify.hpp"
#include "service/reload.hpp"

namespace porthop::service {
namespace {

config::Options parse(std::vector<std::string> args) {
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    auto command = config::parse_command_line(static_cast<int>(argv.size()), argv.data());
    return std::get<config::RunRelay>(command).options;
}

const std::vector<std::string> kClient = {"porthop",        "client",   "--listen",
                                          "127.0.0.1:4433", "--server", "127.0.0.1:20000-20009"};

TEST(PlanReload, NothingChanged) {
    auto o = parse(kClient);
    auto plan = plan_reload(o, o, true);
    EXPECT_TRUE(plan.runtime.empty());
    EXPECT_TRUE(plan.restart.empty());
}

TEST(PlanReload, LogLevelIsAlwaysRuntime) {
    auto o = parse(kClient);
    auto n = o;
    n.log_level = "debug";
    auto plan = plan_reload(o, n, false);
    ASSERT_EQ(plan.runtime.size(), 1u);
    EXPECT_EQ(plan.runtime[0].option, "log-level");
    EXPECT_EQ(plan.runtime[0].from, "info");
    EXPECT_EQ(plan.runtime[0].to, "debug");
    EXPECT_TRUE(plan.restart.empty());
}

TEST(PlanReload, RelayOptionsNeedTheRelay) {
    auto o = parse(kClient);
    auto n = o;
    n.hop_interval = std::chrono::seconds(3);
    n.max_sessions = 10;
    n.idle_timeout = std::chrono::minutes(2);
    auto with = plan_reload(o, n, true);
    EXPECT_EQ(with.runtime.size(), 3u);
    EXPECT_TRUE(with.restart.empty());
    auto without = plan_reload(o, n, false);
    EXPECT_TRUE(without.runtime.empty());
    ASSERT_EQ(without.restart.size(), 3u);
    EXPECT_EQ(without.restart[0].option, "hop-interval");
    EXPECT_EQ(without.restart[0].from, "10s");
    EXPECT_EQ(without.restart[0].to, "3s");
}

TEST(PlanReload, SocketsNeedARestart) {
    auto o = parse(kClient);
    auto n = parse({"porthop", "client", "--listen", "127.0.0.1:4434", "--server", "127.0.0.1:20000-20019", "--metrics",
                    "127.0.0.1:9101", "--sndbuf", "0"});
    auto plan = plan_reload(o, n, true);
    std::vector<std::string> names;
    for (auto& c : plan.restart) names.push_back(c.option);
    EXPECT_EQ(names, (std::vector<std::string>{"listen", "server", "metrics", "sndbuf"}));
    EXPECT_EQ(plan.restart[0].from, "127.0.0.1:4433");
    EXPECT_EQ(plan.restart[0].to, "127.0.0.1:4434");
    EXPECT_EQ(plan.restart[2].from, "(off)");
}

TEST(PlanReload, ServerUpstream) {
    auto o = parse({"porthop", "server", "--listen", "127.0.0.1:20000-20009", "--upstream", "127.0.0.1:443"});
    auto n = parse({"porthop", "server", "--listen", "127.0.0.1:20000-20009", "--upstream", "127.0.0.1:444"});
    auto plan = plan_reload(o, n, true);
    ASSERT_EQ(plan.restart.size(), 1u);
    EXPECT_EQ(plan.restart[0].option, "upstream");
}

TEST(PlanReload, ServerWorkersNeedARestart) {
    auto o = parse({"porthop", "server", "--listen", "127.0.0.1:20000-20009", "--upstream", "127.0.0.1:443"});
    auto n = parse(
        {"porthop", "server", "--listen", "127.0.0.1:20000-20009", "--upstream", "127.0.0.1:443", "--workers", "auto"});
    auto plan = plan_reload(o, n, true);
    ASSERT_EQ(plan.restart.size(), 1u);
    EXPECT_EQ(plan.restart[0].option, "workers");
    EXPECT_TRUE(plan.runtime.empty());
}

class ReloaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/porthop-service-test.XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        dir_ = dir;
        path_ = dir_ + "/client.json";
        spdlog::set_level(spdlog::level::info);
    }
    void TearDown() override {
        std::remove(path_.c_str());
        rmdir(dir_.c_str());
        spdlog::set_level(spdlog::level::info);
    }
    void write(const std::string& json) { std::ofstream(path_) << json; }
    std::vector<std::string> args() { return {"porthop", "client", "--config", path_}; }

    std::string dir_, path_;
};

constexpr const char* kBase = R"({"listen": "127.0.0.1:4433", "server": "127.0.0.1:20000-20009")";

TEST_F(ReloaderTest, AppliesLogLevelAndRelayOptions) {
    write(std::string(kBase) + "}");
    config::Options applied;
    int calls = 0;
    Reloader r(args(), parse(args()), [&](const config::Options& o) {
        applied = o;
        ++calls;
        return true;
    });
    write(std::string(kBase) + R"(, "log-level": "debug", "hop-interval": "3s"})");
    EXPECT_TRUE(r.reload());
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(applied.hop_interval, std::chrono::seconds(3));
    EXPECT_EQ(r.options().hop_interval, std::chrono::seconds(3));
    EXPECT_EQ(spdlog::get_level(), spdlog::level::debug);
}

TEST_F(ReloaderTest, LogLevelAloneDoesNotCallTheRelay) {
    write(std::string(kBase) + "}");
    int calls = 0;
    Reloader r(args(), parse(args()), [&](const config::Options&) { return ++calls, true; });
    write(std::string(kBase) + R"(, "log-level": "warn"})");
    EXPECT_TRUE(r.reload());
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(spdlog::get_level(), spdlog::level::warn);
}

TEST_F(ReloaderTest, RefusesAllIfOneNeedsARestart) {
    write(std::string(kBase) + "}");
    int calls = 0;
    Reloader r(args(), parse(args()), [&](const config::Options&) { return ++calls, true; });
    write(R"({"listen": "127.0.0.1:4434", "server": "127.0.0.1:20000-20009", "log-level": "debug"})");
    EXPECT_FALSE(r.reload());
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(r.options().listen.port(), 4433);
    EXPECT_EQ(r.options().log_level, "info");
    EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
}

TEST_F(ReloaderTest, KeepsRunningConfigOnInvalidFileOrRelayRefusal) {
    write(std::string(kBase) + "}");
    Reloader r(args(), parse(args()), [](const config::Options&) { return false; });
    write("{\"listen\": ");
    EXPECT_FALSE(r.reload());
    write(std::string(kBase) + R"(, "hop-interval": "3s"})");
    EXPECT_FALSE(r.reload());  // the relay refused
    EXPECT_EQ(r.options().hop_interval, std::chrono::seconds(10));
    write(std::string(kBase) + "}");
    EXPECT_TRUE(r.reload());  // nothing changed
}

// systemd's end of NOTIFY_SOCKET.
class NotifySocket {
public:
    NotifySocket() {
        path_ = "/tmp/porthop-notify-" + std::to_string(getpid()) + ".sock";
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
        unlink(path_.c_str());
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    }
    ~NotifySocket() {
        close(fd_);
        unlink(path_.c_str());
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
    }
    std::vector<std::string> messages() {
        std::vector<std::string> out;
        char buf[4096];
        ssize_t n;
        while ((n = recv(fd_, buf, sizeof buf, 0)) > 0) out.emplace_back(buf, static_cast<size_t>(n));
        return out;
    }

private:
    std::string path_;
    int fd_ = -1;
};

void run_loop(event_base& base, std::chrono::milliseconds for_) {
    timeval tv{0, static_cast<suseconds_t>(std::chrono::microseconds(for_).count())};
    event_base_loopexit(&base, &tv);
    event_base_dispatch(&base);
}

TEST(SystemdNotifier, InactiveWithoutNotifySocket) {
    unsetenv("NOTIFY_SOCKET");
    auto base = loop::make_event_base();
    SystemdNotifier n(*base, [] { return true; });
    EXPECT_FALSE(n.active());
    n.ready();
    n.stopping();
}

TEST(SystemdNotifier, ReadyReloadStopAndWatchdog) {
    NotifySocket sock;
    setenv("WATCHDOG_USEC", "100000", 1);
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    auto base = loop::make_event_base();
    bool healthy = true;
    SystemdNotifier n(
        *base, [&] { return healthy; }, [] { return std::string("client relay, 0 sessions"); });
    ASSERT_TRUE(n.active());
    EXPECT_EQ(n.watchdog_period(), std::chrono::milliseconds(50));

    n.ready();
    auto m = sock.messages();
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0], "READY=1\nSTATUS=client relay, 0 sessions");

    run_loop(*base, std::chrono::milliseconds(280));
    m = sock.messages();
    EXPECT_GE(m.size(), 4u);
    for (auto& s : m) EXPECT_EQ(s.rfind("WATCHDOG=1", 0), 0u) << s;

    healthy = false;  // no pings while unhealthy
    run_loop(*base, std::chrono::milliseconds(150));
    EXPECT_TRUE(sock.messages().empty());

    n.reloading();
    EXPECT_EQ(sock.messages(), std::vector<std::string>{"RELOADING=1"});
    n.stopping();
    EXPECT_EQ(sock.messages(), std::vector<std::string>{"STOPPING=1"});
    healthy = true;
    run_loop(*base, std::chrono::milliseconds(120));  // stopping() ended the pings
    EXPECT_TRUE(sock.messages().empty());
}

TEST(SystemdNotifier, WatchdogForAnotherPidIsOff) {
    NotifySocket sock;
    setenv("WATCHDOG_USEC", "100000", 1);
    setenv("WATCHDOG_PID", "1", 1);
    auto base = loop::make_event_base();
    SystemdNotifier n(*base, [] { return true; });
    EXPECT_EQ(n.watchdog_period().count(), 0);
}

}  // namespace
}  // namespace porthop::service
