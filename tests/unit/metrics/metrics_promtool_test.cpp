// `promtool check metrics` (the Prometheus project's own linter) on the
// exposition: no problems and no lint warnings.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "metrics/process_collector.hpp"
#include "metrics/registry_collector.hpp"
#include "metrics/text_format.hpp"

namespace porthop::metrics {
namespace {

struct Result {
    int status = -1;
    std::string output;
};

Result promtool_check(const std::string& exposition) {
    char path[] = "/tmp/porthop-metrics-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) return {};
    ::close(fd);
    std::ofstream(path, std::ios::binary) << exposition;
    Result r;
    const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
        int st = ::pclose(p);
        r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    ::unlink(path);
    return r;
}

bool have_promtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

TEST(MetricsPromtool, ExpositionPassesCheckMetricsWithoutWarnings) {
    if (!have_promtool()) GTEST_SKIP() << "promtool not installed";
    Registry r;
    r.relayed(Direction::upstream, 10, 12000);
    r.relayed(Direction::downstream, 20, 30000);
    r.drop(DropReason::foreign_source, 3);
    r.set(Family::sessions, 2);
    r.add(Family::sessions_opened, 5);
    r.add(Family::sessions_closed, CloseReason::idle, 3);
    r.add(Family::hops, HopReason::interval, 7);
    ASSERT_TRUE(read_process_stats());
    RegistryCollector collector(r, BuildInfo{"0.1.0", "client", "plain"});
    ProcessCollector process;
    const std::string out = to_text({&collector, &process});
    Result res = promtool_check(out);
    EXPECT_EQ(res.status, 0) << res.output;
    EXPECT_EQ(res.output, "") << out;
}

TEST(MetricsPromtool, LintCatchesABrokenExposition) {
    // Guards the test above: promtool does report what it dislikes.
    if (!have_promtool()) GTEST_SKIP() << "promtool not installed";
    Result res =
        promtool_check("# HELP porthop_bad a counter without _total\n# TYPE porthop_bad counter\nporthop_bad 1\n");
    EXPECT_NE(res.output, "");
}

}  // namespace
}  // namespace porthop::metrics
