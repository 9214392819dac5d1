// Specification of --config FILE.json (docs/design.md, "The contract"): every
// option has a JSON key of the same name, flags override the file, and every
// problem with the file is one ConfigError line naming the file and the key.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config_test_helpers.hpp"

namespace porthop::config {
namespace {

using namespace std::chrono_literals;

class ConfigFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "porthop-config-test-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    std::string write(const std::string& name, const std::string& content) {
        std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    // A client config holding the required keys plus `extra` (a JSON fragment).
    std::string client_file(const std::string& extra = "") {
        std::string body = R"({"listen": "127.0.0.1:4433", "server": "192.0.2.1:20000-20999")";
        if (!extra.empty()) body += ", " + extra;
        return write("client.json", body + "}");
    }

    std::filesystem::path dir_;
};

TEST_F(ConfigFile, SuppliesTheRequiredOptions) {
    std::string path = client_file();
    Options o = run({"client", "--config", path});
    EXPECT_EQ(o.listen.to_string(), "127.0.0.1:4433");
    EXPECT_EQ(o.server_ports.to_string(), "20000-20999");
    EXPECT_EQ(o.config_file, path);
}

TEST_F(ConfigFile, EveryClientOptionHasAKeyOfTheSameName) {
    Options o = run({"client", "--config", client_file(R"(
        "hop-interval": "4s", "hop-jitter": "1s", "hop-bytes": 5000000, "hop-on-stall": "3s",
        "hop-on-slowdown": true, "metrics": "127.0.0.1:9100", "idle-timeout": "90s", "mode": "session",
        "psk-file": "/etc/porthop.key", "log-level": "warn", "max-sessions": 100, "sndbuf": 8192,
        "rcvbuf": 65536)")});
    EXPECT_EQ(o.hop_interval, 4s);
    EXPECT_EQ(o.hop_jitter, 1s);
    EXPECT_EQ(o.hop_bytes, 5000000u);
    EXPECT_EQ(o.hop_on_stall, 3s);
    EXPECT_TRUE(o.hop_on_slowdown);
    EXPECT_EQ(o.metrics->to_string(), "127.0.0.1:9100");
    EXPECT_EQ(o.idle_timeout, 90s);
    EXPECT_EQ(o.mode, Mode::session);
    EXPECT_EQ(o.psk_file, "/etc/porthop.key");
    EXPECT_EQ(o.log_level, "warn");
    EXPECT_EQ(o.max_sessions, 100u);
    EXPECT_EQ(o.sndbuf, 8192u);
    EXPECT_EQ(o.rcvbuf, 65536u);
}

TEST_F(ConfigFile, ServerKeys) {
    std::string path = write("server.json", R"({"listen": "[::]:20000-20099,20500", "upstream": "127.0.0.1:443",
                                                "idle-timeout": "30s", "max-sessions": 10})");
    Options o = run({"server", "--config", path});
    EXPECT_EQ(o.listen_ip.ip_string(), "::");
    EXPECT_EQ(o.listen_ports.to_string(), "20000-20099,20500");
    EXPECT_EQ(o.upstream.to_string(), "127.0.0.1:443");
    EXPECT_EQ(o.idle_timeout, 30s);
    EXPECT_EQ(o.max_sessions, 10u);
}

TEST_F(ConfigFile, FlagsOverrideTheFile) {
    std::string path = client_file(R"("hop-interval": "4s", "max-sessions": 100, "log-level": "warn")");
    Options o =
        run({"client", "--config", path, "--hop-interval", "6s", "--listen", "[::1]:5000", "--log-level", "debug"});
    EXPECT_EQ(o.hop_interval, 6s);
    EXPECT_EQ(o.listen.to_string(), "[::1]:5000");
    EXPECT_EQ(o.log_level, "debug");
    EXPECT_EQ(o.max_sessions, 100u);  // not overridden
}

TEST_F(ConfigFile, FlagsMayComeBeforeConfig) {
    Options o = run({"client", "--hop-interval", "6s", "--config", client_file(R"("hop-interval": "4s")")});
    EXPECT_EQ(o.hop_interval, 6s);
}

TEST_F(ConfigFile, AFlagCanTurnOffAFileBoolean) {
    Options o = run({"client", "--config", client_file(R"("hop-on-slowdown": true)"), "--hop-on-slowdown=false"});
    EXPECT_FALSE(o.hop_on_slowdown);
}

TEST_F(ConfigFile, FalseBooleanLeavesTheFlagOff) {
    EXPECT_FALSE(run({"client", "--config", client_file(R"("hop-on-slowdown": false)")}).hop_on_slowdown);
}

TEST_F(ConfigFile, CountsMayBeStringsOfDigits) {
    Options o = run({"client", "--config", client_file(R"("max-sessions": "77", "hop-bytes": "123")")});
    EXPECT_EQ(o.max_sessions, 77u);
    EXPECT_EQ(o.hop_bytes, 123u);
}

TEST_F(ConfigFile, HopJitterDefaultsToOneFifthOfTheFilesInterval) {
    EXPECT_EQ(run({"client", "--config", client_file(R"("hop-interval": "30s")")}).hop_jitter, 6s);
}

TEST_F(ConfigFile, JitterFromAFlagIsCheckedAgainstTheFilesInterval) {
    std::string message =
        error_of({"client", "--config", client_file(R"("hop-interval": "2s")"), "--hop-jitter", "3s"});
    EXPECT_EQ(message, "--hop-jitter: 3s is longer than --hop-interval (2s); use a jitter below the interval");
}

TEST_F(ConfigFile, AnEmptyObjectLeavesTheRequiredOptionsMissing) {
    EXPECT_EQ(error_of({"client", "--config", write("empty.json", "{}")}).rfind("--listen: missing", 0), 0u);
}

TEST_F(ConfigFile, UnknownKeyIsAnErrorNamingTheFileAndTheKey) {
    std::string path = client_file(R"("hop_interval": "5s")");
    std::string message = error_of({"client", "--config", path});
    EXPECT_CONTAINS(message, path);
    EXPECT_CONTAINS(message, "key \"hop_interval\" is not a porthop option");
}

TEST_F(ConfigFile, KeyOfTheOtherRoleIsAnError) {
    std::string message = error_of({"client", "--config", client_file(R"("upstream": "127.0.0.1:443")")});
    EXPECT_CONTAINS(message, "key \"upstream\" is a server option");

    std::string path = write("server.json", R"({"listen": "0.0.0.0:1", "upstream": "127.0.0.1:443", "hop-bytes": 1})");
    EXPECT_CONTAINS(error_of({"server", "--config", path}), "key \"hop-bytes\" is a client option");
}

TEST_F(ConfigFile, ConfigKeyInsideTheFileIsAnError) {
    EXPECT_CONTAINS(error_of({"client", "--config", client_file(R"("config": "other.json")")}), "key \"config\"");
}

TEST_F(ConfigFile, WrongJsonTypeIsAnErrorNamingTheKey) {
    const struct {
        const char* fragment;
        const char* key;
    } cases[] = {
        {R"("hop-interval": 10)", "hop-interval"},      {R"("mode": true)", "mode"},
        {R"("metrics": ["127.0.0.1:1"])", "metrics"},   {R"("psk-file": null)", "psk-file"},
        {R"("max-sessions": 1.5)", "max-sessions"},     {R"("sndbuf": true)", "sndbuf"},
        {R"("hop-bytes": {"n": 1})", "hop-bytes"},      {R"("hop-on-slowdown": "yes")", "hop-on-slowdown"},
        {R"("hop-on-slowdown": 1)", "hop-on-slowdown"},
    };
    for (const auto& c : cases) {
        std::string path = client_file(c.fragment);
        std::string message = error_of({"client", "--config", path});
        EXPECT_CONTAINS(message, path);
        EXPECT_CONTAINS(message, std::string("key \"") + c.key + "\" must be");
    }
}

TEST_F(ConfigFile, InvalidValueInTheFileNamesTheOptionAndTheFile) {
    std::string path = client_file(R"("idle-timeout": "60")");
    std::string message = error_of({"client", "--config", path});
    EXPECT_EQ(message.rfind("--idle-timeout (from " + path + "): \"60\" is not a duration", 0), 0u) << message;
}

TEST_F(ConfigFile, NegativeCountIsAnError) {
    EXPECT_CONTAINS(error_of({"client", "--config", client_file(R"("max-sessions": -5)")}), "--max-sessions (from ");
}

TEST_F(ConfigFile, InvalidJsonReportsTheLineAndColumn) {
    std::string path = write("broken.json", "{\n  \"listen\": \"127.0.0.1:1\",\n}\n");
    std::string message = error_of({"client", "--config", path});
    EXPECT_EQ(message.rfind("--config \"" + path + "\": invalid JSON: ", 0), 0u) << message;
    EXPECT_CONTAINS(message, "line 3");
    EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
}

TEST_F(ConfigFile, TopLevelMustBeAnObject) {
    for (const char* body : {"[]", "\"listen\"", "42", "null"}) {
        EXPECT_CONTAINS(error_of({"client", "--config", write("not-object.json", body)}), "must hold a JSON object");
    }
}

TEST_F(ConfigFile, MissingFileIsAnError) {
    std::string path = (dir_ / "absent.json").string();
    std::string message = error_of({"client", "--config", path});
    EXPECT_EQ(message.rfind("--config: cannot read \"" + path + "\": ", 0), 0u) << message;
}

TEST_F(ConfigFile, DirectoryIsAnError) {
    EXPECT_EQ(error_of({"client", "--config", dir_.string()}).rfind("--config: cannot read", 0), 0u);
}

TEST_F(ConfigFile, UnreadableFileIsAnError) {
    if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
    std::string path = client_file();
    ASSERT_EQ(chmod(path.c_str(), 0), 0);
    EXPECT_EQ(error_of({"client", "--config", path}).rfind("--config: cannot read", 0), 0u);
}

}  // namespace
}  // namespace porthop::config
