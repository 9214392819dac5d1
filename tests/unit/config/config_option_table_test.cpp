// Specification of the option table (config/option_table.hpp): every relay
// option says what a SIGHUP does with it, and the reload follows the table.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "config/option_table.hpp"
#include "config_test_helpers.hpp"

namespace porthop::config {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kClient = {"client", "--listen", "127.0.0.1:4433", "--server", "192.0.2.1:20000-20999"};

TEST(ConfigOptionTable, EveryRelayOptionCanBeComparedAndEveryRuntimeOneCopied) {
    for (const Spec& s : option_table()) {
        if ((s.roles & kRelays) == 0 || s.reload == Reload::none) continue;
        EXPECT_NE(s.field.text, nullptr) << s.name;
        if (s.reload == Reload::relay) {
            EXPECT_NE(s.field.copy, nullptr) << s.name;
        }
    }
}

TEST(ConfigOptionTable, OnlyTheConfigFileItselfIsOutsideTheReload) {
    for (const Spec& s : option_table()) {
        if ((s.roles & kRelays) != 0 && s.reload == Reload::none) {
            EXPECT_STREQ(s.name, "config");
        }
    }
}

TEST(ConfigOptionTable, DifferencesNameEachChangedOptionOnceInTableOrder) {
    Options o = run(kClient);
    Options n = run({"client", "--listen", "127.0.0.1:4433", "--server", "192.0.2.2:20000-20009", "--hop-bytes", "1000",
                     "--no-offload"});
    auto diff = differences(o, n);
    std::vector<std::string> names;
    for (const auto& d : diff) names.push_back(d.option);
    EXPECT_EQ(names, (std::vector<std::string>{"server", "hop-bytes", "no-offload"}));
    EXPECT_EQ(diff[0].from, "192.0.2.1:20000-20999");
    EXPECT_EQ(diff[0].to, "192.0.2.2:20000-20009");
    EXPECT_EQ(diff[0].reload, Reload::restart);
    EXPECT_EQ(diff[1].reload, Reload::relay);
    EXPECT_EQ(diff[2].reload, Reload::restart);
}

TEST(ConfigOptionTable, CopyRelayRuntimeOptionsTakesTheRuntimeOptionsOnly) {
    Options running = run(kClient);
    Options reread = run({"client", "--listen", "127.0.0.1:4434", "--server", "192.0.2.1:20000-20999", "--hop-interval",
                          "3s", "--max-sessions", "7", "--log-level", "debug"});
    copy_relay_runtime_options(running, reread);
    EXPECT_EQ(running.hop_interval, 3s);
    EXPECT_EQ(running.max_sessions, 7u);
    EXPECT_EQ(running.listen.port(), 4433);  // restart
    EXPECT_EQ(running.log_level, "info");    // the process's, not the relay's
}

}  // namespace
}  // namespace porthop::config
