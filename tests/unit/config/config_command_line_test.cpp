// Specification of the command line (docs/design.md, "The contract"): what each
// subcommand accepts, the defaults, and that every invalid input is one
// ConfigError line naming the option.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_helpers.hpp"

namespace porthop::config {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

const std::vector<std::string> kClient = {"client", "--listen", "127.0.0.1:4433", "--server", "192.0.2.1:20000-20999"};
const std::vector<std::string> kServer = {"server", "--listen", "0.0.0.0:20000-20999", "--upstream", "127.0.0.1:443"};

// --- commands ---------------------------------------------------------------

TEST(ConfigCommandLine, NoCommandIsAnError) { EXPECT_CONTAINS(error_of({}), "no command given"); }

TEST(ConfigCommandLine, UnknownCommandIsAnError) { EXPECT_CONTAINS(error_of({"relay"}), "\"relay\": unknown command"); }

TEST(ConfigCommandLine, GenkeyIsACommand) { EXPECT_TRUE(std::holds_alternative<GenKey>(parse({"genkey"}))); }

TEST(ConfigCommandLine, GenkeyTakesNoArguments) {
    EXPECT_CONTAINS(error_of({"genkey", "--listen", "1.2.3.4:5"}), "--listen");
    EXPECT_CONTAINS(error_of({"genkey", "extra"}), "\"extra\"");
}

TEST(ConfigCommandLine, VersionPrintsPorthopAndTheVersion) {
    Command c = parse({"--version"});
    ASSERT_TRUE(std::holds_alternative<Version>(c));
    EXPECT_EQ(std::get<Version>(c).text, std::string("porthop ") + PORTHOP_VERSION);
}

TEST(ConfigCommandLine, HelpListsTheCommands) {
    for (const char* flag : {"--help", "-h"}) {
        Command c = parse({flag});
        ASSERT_TRUE(std::holds_alternative<Help>(c)) << flag;
        const std::string& text = std::get<Help>(c).text;
        for (const char* word : {"client", "server", "genkey", "--version"}) EXPECT_CONTAINS(text, word);
    }
}

TEST(ConfigCommandLine, ClientHelpListsTheClientOptions) {
    Command c = parse({"client", "--help"});
    ASSERT_TRUE(std::holds_alternative<Help>(c));
    const std::string& text = std::get<Help>(c).text;
    EXPECT_CONTAINS(text, "porthop client");
    for (const char* option : {"--listen", "--server", "--hop-interval", "--hop-jitter", "--hop-bytes",
                               "--hop-on-stall", "--hop-on-slowdown", "--metrics", "--idle-timeout", "--mode",
                               "--psk-file", "--config", "--log-level", "--max-sessions", "--sndbuf", "--rcvbuf"}) {
        EXPECT_CONTAINS(text, option);
    }
    EXPECT_EQ(text.find("--upstream"), std::string::npos);
}

TEST(ConfigCommandLine, ServerHelpListsTheServerOptionsOnly) {
    Command c = parse({"server", "--help"});
    ASSERT_TRUE(std::holds_alternative<Help>(c));
    const std::string& text = std::get<Help>(c).text;
    EXPECT_CONTAINS(text, "porthop server");
    EXPECT_CONTAINS(text, "--upstream");
    EXPECT_EQ(text.find("--hop-interval"), std::string::npos);
}

TEST(ConfigCommandLine, HelpWinsOverMissingRequiredOptions) {
    EXPECT_TRUE(std::holds_alternative<Help>(parse({"client", "--listen", "127.0.0.1:1", "--help"})));
    EXPECT_TRUE(std::holds_alternative<Help>(parse({"genkey", "--help"})));
}

// --- required options -------------------------------------------------------

TEST(ConfigCommandLine, EachRequiredOptionIsNamedWhenMissing) {
    const struct {
        std::vector<std::string> args;
        const char* missing;
    } cases[] = {
        {{"client"}, "--listen"},
        {{"client", "--server", "192.0.2.1:20000"}, "--listen"},
        {{"client", "--listen", "127.0.0.1:4433"}, "--server"},
        {{"server"}, "--listen"},
        {{"server", "--upstream", "127.0.0.1:443"}, "--listen"},
        {{"server", "--listen", "0.0.0.0:20000"}, "--upstream"},
    };
    for (const auto& c : cases) {
        std::string message = error_of(c.args);
        EXPECT_EQ(message.rfind(std::string(c.missing) + ": missing", 0), 0u) << message;
    }
}

// --- unknown and misplaced flags ---------------------------------------------

TEST(ConfigCommandLine, UnknownFlagIsAnErrorNamingIt) {
    EXPECT_CONTAINS(error_of(kClient + std::vector<std::string>{"--bogus"}),
                    "--bogus: unknown option for porthop client");
    EXPECT_CONTAINS(error_of(kServer + std::vector<std::string>{"--bogus=1"}),
                    "--bogus: unknown option for porthop server");
    EXPECT_CONTAINS(error_of({"--bogus"}), "--bogus: unknown option for porthop");
}

TEST(ConfigCommandLine, ClientOnlyFlagsAreRejectedByTheServer) {
    const std::vector<std::string> cases[] = {
        {"--server", "192.0.2.1:1"}, {"--hop-interval", "5s"}, {"--hop-jitter", "1s"},
        {"--hop-bytes", "1000"},     {"--hop-on-stall", "2s"}, {"--hop-on-slowdown"},
    };
    for (const auto& extra : cases) {
        std::string message = error_of(kServer + extra);
        EXPECT_EQ(message.rfind(extra[0] + ": is a client option", 0), 0u) << message;
    }
}

TEST(ConfigCommandLine, ServerOnlyFlagIsRejectedByTheClient) {
    EXPECT_CONTAINS(error_of(kClient + std::vector<std::string>{"--upstream", "127.0.0.1:443"}),
                    "--upstream: is a server option");
}

TEST(ConfigCommandLine, OptionsBeforeTheCommandAreAnError) {
    EXPECT_CONTAINS(error_of({"--listen", "127.0.0.1:4433", "client"}), "--listen");
}

TEST(ConfigCommandLine, PositionalArgumentIsAnError) {
    EXPECT_CONTAINS(error_of(kClient + std::vector<std::string>{"stray"}), "\"stray\": unexpected argument");
}

TEST(ConfigCommandLine, OptionWithoutAValueIsAnError) {
    EXPECT_CONTAINS(error_of({"client", "--server", "192.0.2.1:1", "--listen"}), "--listen");
}

TEST(ConfigCommandLine, OptionGivenTwiceIsAnError) {
    EXPECT_CONTAINS(error_of(kClient + std::vector<std::string>{"--listen", "127.0.0.1:1"}), "--listen: given 2 times");
}

// --- values -----------------------------------------------------------------

TEST(ConfigCommandLine, ClientDefaults) {
    Options o = run(kClient);
    EXPECT_EQ(o.role, Role::client);
    EXPECT_EQ(o.listen.to_string(), "127.0.0.1:4433");
    EXPECT_EQ(o.server_ip.to_string(), "192.0.2.1:0");
    EXPECT_EQ(o.server_ports.to_string(), "20000-20999");
    EXPECT_EQ(o.idle_timeout, 60s);
    EXPECT_EQ(o.mode, Mode::plain);
    EXPECT_EQ(o.psk_file, "");
    EXPECT_EQ(o.log_level, "info");
    EXPECT_EQ(o.config_file, "");
    EXPECT_FALSE(o.metrics.has_value());
    EXPECT_EQ(o.hop_interval, 10s);
    EXPECT_EQ(o.hop_jitter, 2s);
    EXPECT_EQ(o.hop_bytes, 0u);
    EXPECT_EQ(o.hop_on_stall, 0ms);
    EXPECT_FALSE(o.hop_on_slowdown);
    EXPECT_EQ(o.max_sessions, 4096u);
    EXPECT_EQ(o.sndbuf, 4u << 20);
    EXPECT_EQ(o.rcvbuf, 4u << 20);
    EXPECT_TRUE(o.offload);
}

TEST(ConfigCommandLine, ClientTakesEveryOption) {
    Options o = run(kClient + std::vector<std::string>{"--hop-interval",
                                                       "5s",
                                                       "--hop-jitter",
                                                       "500ms",
                                                       "--hop-bytes",
                                                       "1000000",
                                                       "--hop-on-stall",
                                                       "2s",
                                                       "--hop-on-slowdown",
                                                       "--metrics",
                                                       "[::1]:9100",
                                                       "--idle-timeout",
                                                       "2m",
                                                       "--mode",
                                                       "session",
                                                       "--psk-file",
                                                       "/etc/k",
                                                       "--log-level",
                                                       "debug",
                                                       "--max-sessions",
                                                       "10",
                                                       "--sndbuf",
                                                       "4096",
                                                       "--rcvbuf",
                                                       "1048576"});
    EXPECT_EQ(o.hop_interval, 5s);
    EXPECT_EQ(o.hop_jitter, 500ms);
    EXPECT_EQ(o.hop_bytes, 1000000u);
    EXPECT_EQ(o.hop_on_stall, 2s);
    EXPECT_TRUE(o.hop_on_slowdown);
    ASSERT_TRUE(o.metrics.has_value());
    EXPECT_EQ(o.metrics->to_string(), "[::1]:9100");
    EXPECT_EQ(o.idle_timeout, 2min);
    EXPECT_EQ(o.mode, Mode::session);
    EXPECT_EQ(o.psk_file, "/etc/k");
    EXPECT_EQ(o.log_level, "debug");
    EXPECT_EQ(o.max_sessions, 10u);
    EXPECT_EQ(o.sndbuf, 4096u);
    EXPECT_EQ(o.rcvbuf, 1048576u);
}

TEST(ConfigCommandLine, OptionValuesMayFollowAnEqualsSign) {
    Options o = run({"client", "--listen=127.0.0.1:4433", "--server=192.0.2.1:7", "--hop-interval=3s"});
    EXPECT_EQ(o.hop_interval, 3s);
}

TEST(ConfigCommandLine, ServerTakesAListenPortSetAndAnUpstream) {
    Options o = run({"server", "--listen", "[::]:20000-20099,20500", "--upstream", "[::1]:443"});
    EXPECT_EQ(o.role, Role::server);
    EXPECT_TRUE(o.listen_ip.is_v6());
    EXPECT_EQ(o.listen_ip.ip_string(), "::");
    EXPECT_EQ(o.listen_ip.port(), 0);
    EXPECT_EQ(o.listen_ports.to_string(), "20000-20099,20500");
    EXPECT_EQ(o.upstream.to_string(), "[::1]:443");
    EXPECT_TRUE(o.listen.empty());
}

TEST(ConfigCommandLine, ServerTakesTheSharedOptions) {
    Options o = run(kServer + std::vector<std::string>{"--idle-timeout", "30s", "--max-sessions", "1000000",
                                                       "--metrics", "0.0.0.0:9101", "--log-level", "off"});
    EXPECT_EQ(o.idle_timeout, 30s);
    EXPECT_EQ(o.max_sessions, 1000000u);
    EXPECT_EQ(o.metrics->to_string(), "0.0.0.0:9101");
    EXPECT_EQ(o.log_level, "off");
}

TEST(ConfigCommandLine, EveryLogLevelIsAccepted) {
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        EXPECT_EQ(run(kClient + std::vector<std::string>{"--log-level", level}).log_level, level);
    }
}

TEST(ConfigCommandLine, HopJitterDefaultsToOneFifthOfTheInterval) {
    EXPECT_EQ(run(kClient + std::vector<std::string>{"--hop-interval", "5s"}).hop_jitter, 1s);
    EXPECT_EQ(run(kClient + std::vector<std::string>{"--hop-interval", "1m"}).hop_jitter, 12s);
    EXPECT_EQ(run(kClient + std::vector<std::string>{"--hop-interval", "3ms"}).hop_jitter, 0ms);
}

TEST(ConfigCommandLine, HopJitterMayBeZero) {
    EXPECT_EQ(run(kClient + std::vector<std::string>{"--hop-jitter", "0s"}).hop_jitter, 0ms);
}

TEST(ConfigCommandLine, HopJitterLongerThanTheIntervalIsAnError) {
    EXPECT_EQ(error_of(kClient + std::vector<std::string>{"--hop-jitter", "20s"}),
              "--hop-jitter: 20s is longer than --hop-interval (10s); use a jitter below the interval");
}

TEST(ConfigCommandLine, HopJitterEqualToTheIntervalIsAnError) {
    EXPECT_EQ(error_of(kClient + std::vector<std::string>{"--hop-interval", "2s", "--hop-jitter", "2000ms"}),
              "--hop-jitter: 2s equals --hop-interval (2s); use a jitter below the interval");
}

TEST(ConfigCommandLine, NoOffloadTurnsSegmentationOffloadOffForEitherRole) {
    EXPECT_FALSE(run(kClient + std::vector<std::string>{"--no-offload"}).offload);
    EXPECT_FALSE(
        run({"server", "--listen", "10.0.0.1:20000-20009", "--upstream", "127.0.0.1:443", "--no-offload"}).offload);
}

TEST(ConfigCommandLine, HopOnSlowdownTakesAnOptionalBoolean) {
    EXPECT_FALSE(run(kClient + std::vector<std::string>{"--hop-on-slowdown=false"}).hop_on_slowdown);
    EXPECT_TRUE(run(kClient + std::vector<std::string>{"--hop-on-slowdown=true"}).hop_on_slowdown);
    EXPECT_CONTAINS(error_of(kClient + std::vector<std::string>{"--hop-on-slowdown=maybe"}), "--hop-on-slowdown");
}

TEST(ConfigCommandLine, SessionModeRequiresAPskFile) {
    std::string message = error_of(kServer + std::vector<std::string>{"--mode", "session"});
    EXPECT_CONTAINS(message, "--mode");
    EXPECT_CONTAINS(message, "--psk-file");
}

TEST(ConfigCommandLine, CountsAndBufferSizesAcceptTheirBounds) {
    const struct {
        const char* option;
        const char* value;
    } cases[] = {
        {"--max-sessions", "1"},    {"--max-sessions", "1000000"},
        {"--sndbuf", "0"},          {"--sndbuf", "4096"},
        {"--sndbuf", "1073741824"}, {"--rcvbuf", "0"},
        {"--rcvbuf", "4096"},       {"--rcvbuf", "1073741824"},
        {"--hop-bytes", "0"},       {"--hop-bytes", "18446744073709551615"},
    };
    for (const auto& c : cases) {
        EXPECT_NO_THROW(run(kClient + std::vector<std::string>{c.option, c.value})) << c.option << " " << c.value;
    }
}

// Every invalid value is a ConfigError whose message starts with the option.
TEST(ConfigCommandLine, InvalidValuesAreErrorsNamingTheOption) {
    const struct {
        const char* option;
        const char* value;
    } cases[] = {
        {"--idle-timeout", "0s"},
        {"--idle-timeout", "60"},
        {"--idle-timeout", "1.5s"},
        {"--idle-timeout", "-1s"},
        {"--hop-interval", "0ms"},
        {"--hop-interval", "s"},
        {"--hop-interval", "99999999999999999999h"},
        {"--hop-jitter", "abc"},
        {"--hop-on-stall", "5"},
        {"--hop-bytes", "-1"},
        {"--hop-bytes", "1k"},
        {"--hop-bytes", "18446744073709551616"},
        {"--max-sessions", "0"},
        {"--max-sessions", "1000001"},
        {"--max-sessions", "many"},
        {"--max-sessions", ""},
        {"--sndbuf", "4095"},
        {"--sndbuf", "1"},
        {"--rcvbuf", "1073741825"},
        {"--rcvbuf", "1MB"},
        {"--mode", "encrypted"},
        {"--mode", "PLAIN"},
        {"--log-level", "verbose"},
        {"--log-level", "warning"},
        {"--metrics", "127.0.0.1"},
        {"--metrics", "localhost:9100"},
        {"--metrics", "127.0.0.1:0"},
        {"--metrics", "::1:9100"},
        {"--metrics", "127.0.0.1:65536"},
        {"--psk-file", ""},
        {"--listen", "127.0.0.1:20000-20001"},
        {"--listen", "127.0.0.1"},
        {"--listen", "localhost:4433"},
        {"--server", "192.0.2.1"},
        {"--server", "192.0.2.1:"},
        {"--server", ":20000"},
        {"--server", "192.0.2.1:20999-20000"},
        {"--server", "192.0.2.1:a-b"},
        {"--server", "192.0.2.1:20000,"},
        {"--server", "192.0.2.1:,20000"},
        {"--server", "192.0.2.1:0"},
        {"--server", "192.0.2.1:1, 2"},
        {"--server", "::1:20000"},
        {"--server", "[192.0.2.1]:20000"},
        {"--server", "1.2.3:20000"},
        {"--server", "bad host:1"},
        {"--config", "/nonexistent/porthop.json"},
    };
    for (const auto& c : cases) {
        // Replace the valid value of a required option rather than repeat it.
        std::vector<std::string> args = kClient;
        bool replaced = false;
        for (size_t i = 1; i + 1 < args.size(); i += 2) {
            if (args[i] == c.option) {
                args[i + 1] = c.value;
                replaced = true;
            }
        }
        if (!replaced) args = args + std::vector<std::string>{c.option, c.value};
        std::string message = error_of(args);
        EXPECT_EQ(message.rfind(std::string(c.option) + ":", 0), 0u)
            << c.option << " " << c.value << " gave: " << message;
    }
}

TEST(ConfigCommandLine, InvalidServerValuesAreErrorsNamingTheOption) {
    const struct {
        const char* option;
        const char* value;
    } cases[] = {
        {"--listen", "0.0.0.0:4433:1"}, {"--listen", "0.0.0.0"},
        {"--listen", "any:20000"},      {"--listen", "0.0.0.0:0-5"},
        {"--listen", "[::]20000"},      {"--upstream", "127.0.0.1"},
        {"--upstream", "127.0.0.1:0"},  {"--upstream", "127.0.0.1:443-444"},
        {"--upstream", "::1:443"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = kServer;
        for (size_t i = 1; i + 1 < args.size(); i += 2) {
            if (args[i] == c.option) args[i + 1] = c.value;
        }
        std::string message = error_of(args);
        EXPECT_EQ(message.rfind(std::string(c.option) + ":", 0), 0u)
            << c.option << " " << c.value << " gave: " << message;
    }
}

TEST(ConfigCommandLine, ABadPortSetMessageSaysWhatIsWrong) {
    EXPECT_CONTAINS(error_of({"client", "--listen", "127.0.0.1:1", "--server", "192.0.2.1:20999-20000"}),
                    "\"20999-20000\" is reversed");
}

// porthop probe (docs/protocol.md, "Probe").
const std::vector<std::string> kProbe = {"probe", "--server", "192.0.2.1:20000-20999", "--psk-file",
                                         "/etc/porthop/psk"};

TEST(ConfigCommandLine, ProbeDefaults) {
    ProbeOptions o = probe_run(kProbe);
    EXPECT_EQ(o.server_ports.size(), 1000u);
    EXPECT_EQ(o.psk_file, "/etc/porthop/psk");
    EXPECT_EQ(o.duration, 60s);
    EXPECT_EQ(o.rate, 1'000'000u);
    EXPECT_FALSE(o.json);
}

TEST(ConfigCommandLine, ProbeTakesDurationRateAndJson) {
    ProbeOptions o = probe_run(kProbe + std::vector<std::string>{"--duration", "20s", "--rate", "500kbit", "--json"});
    EXPECT_EQ(o.duration, 20s);
    EXPECT_EQ(o.rate, 62'500u);
    EXPECT_TRUE(o.json);
}

TEST(ConfigCommandLine, ProbeNeedsServerAndKey) {
    EXPECT_CONTAINS(error_of({"probe", "--psk-file", "/k"}), "--server: missing");
    EXPECT_CONTAINS(error_of({"probe", "--server", "192.0.2.1:1"}), "--psk-file: missing");
}

TEST(ConfigCommandLine, ProbeBadValuesNameTheOption) {
    EXPECT_CONTAINS(error_of(kProbe + std::vector<std::string>{"--rate", "fast"}), "--rate: \"fast\" is not a rate");
    EXPECT_CONTAINS(error_of(kProbe + std::vector<std::string>{"--rate", "1gbit"}), "--rate:");
    EXPECT_CONTAINS(error_of(kProbe + std::vector<std::string>{"--rate", "10kbit"}), "--rate: 10kbit is out of range");
    EXPECT_CONTAINS(error_of(kProbe + std::vector<std::string>{"--duration", "2s"}), "--duration: 2s is out of range");
    EXPECT_CONTAINS(error_of(kProbe + std::vector<std::string>{"--upstream", "127.0.0.1:1"}), "is a server option");
}

TEST(ConfigCommandLine, ProbeHelpWorks) {
    Command c = parse({"probe", "--help"});
    ASSERT_TRUE(std::holds_alternative<Help>(c));
    EXPECT_CONTAINS(std::get<Help>(c).text, "--rate");
}

// porthop status (DESIGN.md, "Command line": porthop status --metrics ADDR:PORT [--json]).
StatusOptions status_run(const std::vector<std::string>& args) { return options_of<ShowStatus>(args); }

TEST(ConfigCommandLine, StatusTakesTheRelaysMetricsAddress) {
    StatusOptions o = status_run({"status", "--metrics", "127.0.0.1:9101"});
    EXPECT_EQ(o.metrics.to_string(), "127.0.0.1:9101");
    EXPECT_FALSE(o.json);
    EXPECT_TRUE(status_run({"status", "--metrics", "[::1]:9102", "--json"}).json);
}

TEST(ConfigCommandLine, StatusNeedsMetrics) {
    EXPECT_EQ(error_of({"status"}), "--metrics: missing; porthop status needs --metrics ADDR:PORT");
}

TEST(ConfigCommandLine, StatusBadValuesNameTheOption) {
    EXPECT_CONTAINS(error_of({"status", "--metrics", "localhost:9101"}),
                    "--metrics: \"localhost\" is not an IP address");
    EXPECT_CONTAINS(error_of({"status", "--metrics", "127.0.0.1"}), "--metrics: \"127.0.0.1\" has no port");
    EXPECT_CONTAINS(error_of({"status", "--metrics", "127.0.0.1:9101", "--listen", "127.0.0.1:1"}),
                    "is a client option; porthop status does not take it");
}

TEST(ConfigValues, RatesInBitsAndBytesASecond) {
    EXPECT_EQ(parse_rate("8mbit"), 1'000'000u);
    EXPECT_EQ(parse_rate("500kbit"), 62'500u);
    EXPECT_EQ(parse_rate("1MB"), 1'000'000u);
    EXPECT_EQ(parse_rate("250kB"), 250'000u);
    EXPECT_EQ(parse_rate("125000"), 125'000u);
    for (const char* bad : {"", "mbit", "8 mbit", "-1mbit", "8gbit", "0", "1.5mbit", "9999999999999mbit"}) {
        EXPECT_FALSE(parse_rate(bad)) << '"' << bad << '"';
    }
}

}  // namespace
}  // namespace porthop::config

// --- --workers (server only) --------------------------------------------------

namespace porthop::config {
namespace {

TEST(ConfigWorkers, ServerRunsOneWorkerByDefault) { EXPECT_EQ(run(kServer).workers, 1u); }

TEST(ConfigWorkers, ServerTakesACountOrAuto) {
    EXPECT_EQ(run(kServer + std::vector<std::string>{"--workers", "4"}).workers, 4u);
    EXPECT_EQ(run(kServer + std::vector<std::string>{"--workers", "auto"}).workers, 0u);  // resolved at start
}

TEST(ConfigWorkers, ZeroTooManyOrWordsAreRefusedByName) {
    for (const char* bad : {"0", "257", "two", "-1"}) {
        EXPECT_CONTAINS(error_of(kServer + std::vector<std::string>{"--workers", bad}), "--workers");
    }
}

TEST(ConfigWorkers, ClientDoesNotTakeIt) {
    EXPECT_CONTAINS(error_of(kClient + std::vector<std::string>{"--workers", "2"}), "is a server option");
}

}  // namespace
}  // namespace porthop::config
