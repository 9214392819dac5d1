// The Prometheus text exposition of a Registry: its collector's families
// (kFamilies and porthop_build_info) and the process_* families, as
// prometheus-cpp's TextSerializer writes them.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/process_collector.hpp"
#include "metrics/registry_collector.hpp"
#include "metrics/text_format.hpp"

namespace porthop::metrics {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text))
        if (l == line) return true;
    return false;
}

const BuildInfo kBuild{"1.2.3", "client", "plain"};

// The process_* families of fixed stats, in place of this process's.
class FixedProcess final : public prometheus::Collectable {
public:
    explicit FixedProcess(const ProcessStats& stats) : stats_(stats) {}
    std::vector<prometheus::MetricFamily> Collect() const override { return process_families(stats_); }

private:
    ProcessStats stats_;
};

// What /metrics serves for `registry`, with `process` stats when not null.
std::string exposition(const Registry& registry, const BuildInfo& build, const ProcessStats* process) {
    RegistryCollector collector(registry, build);
    if (process == nullptr) return to_text({&collector});
    FixedProcess fixed(*process);
    return to_text({&collector, &fixed});
}

TEST(MetricsExposition, WritesCounterValuesPerLabel) {
    Registry r;
    r.relayed(Direction::upstream, 3, 1200);
    r.relayed(Direction::downstream, 5, 7000);
    const std::string out = exposition(r, kBuild, nullptr);
    EXPECT_TRUE(has_line(out, "porthop_packets_total{direction=\"upstream\"} 3"));
    EXPECT_TRUE(has_line(out, "porthop_packets_total{direction=\"downstream\"} 5"));
    EXPECT_TRUE(has_line(out, "porthop_bytes_total{direction=\"upstream\"} 1200"));
    EXPECT_TRUE(has_line(out, "porthop_bytes_total{direction=\"downstream\"} 7000"));
}

TEST(MetricsExposition, WritesFamilyBlockExactly) {
    Registry r;
    r.drop(DropReason::queue_full, 2);
    r.drop(DropReason::malformed);
    const std::string out = exposition(r, kBuild, nullptr);
    const std::string block =
        "# HELP porthop_dropped_packets_total Datagrams dropped, by reason.\n"
        "# TYPE porthop_dropped_packets_total counter\n"
        "porthop_dropped_packets_total{reason=\"queue_full\"} 2\n"
        "porthop_dropped_packets_total{reason=\"foreign_source\"} 0\n"
        "porthop_dropped_packets_total{reason=\"no_session\"} 0\n"
        "porthop_dropped_packets_total{reason=\"auth\"} 0\n"
        "porthop_dropped_packets_total{reason=\"send_error\"} 0\n"
        "porthop_dropped_packets_total{reason=\"oversize\"} 0\n"
        "porthop_dropped_packets_total{reason=\"session_limit\"} 0\n"
        "porthop_dropped_packets_total{reason=\"malformed\"} 1\n";
    EXPECT_NE(out.find(block), std::string::npos) << out;
}

TEST(MetricsExposition, WritesUnlabelledGauge) {
    Registry r;
    r.set(Family::sessions, 7);
    r.set(Family::send_queue_bytes, 4096);
    const std::string out = exposition(r, kBuild, nullptr);
    EXPECT_NE(out.find("# HELP porthop_sessions Sessions currently open.\n"
                       "# TYPE porthop_sessions gauge\n"
                       "porthop_sessions 7\n"),
              std::string::npos);
    EXPECT_TRUE(has_line(out, "porthop_send_queue_bytes 4096"));
}

TEST(MetricsExposition, WritesBuildInfo) {
    const std::string out = exposition(Registry{}, kBuild, nullptr);
    EXPECT_NE(out.find("# HELP porthop_build_info Always 1; labels tell the version, role and mode of this relay.\n"
                       "# TYPE porthop_build_info gauge\n"
                       "porthop_build_info{version=\"1.2.3\",role=\"client\",mode=\"plain\"} 1\n"),
              std::string::npos)
        << out;
}

TEST(MetricsExposition, EveryFamilyHasHelpTypeAndAllSeries) {
    const std::string out = exposition(Registry{}, kBuild, nullptr);
    for (const FamilyDef& f : kFamilies) {
        const std::string name(f.name);
        const std::string type = f.type == Type::counter ? "counter" : "gauge";
        EXPECT_TRUE(has_line(out, "# HELP " + name + " " + std::string(f.help))) << name;
        EXPECT_TRUE(has_line(out, "# TYPE " + name + " " + type)) << name;
        if (f.values.empty()) {
            EXPECT_TRUE(has_line(out, name + " 0")) << name;
        } else {
            for (auto v : f.values)
                EXPECT_TRUE(has_line(out, name + "{" + std::string(f.label) + "=\"" + std::string(v) + "\"} 0"))
                    << name << " " << v;
        }
    }
}

TEST(MetricsExposition, CountersEndInTotal) {
    for (const FamilyDef& f : kFamilies) {
        if (f.type == Type::counter) {
            EXPECT_TRUE(f.name.ends_with("_total")) << f.name;
        } else {
            EXPECT_FALSE(f.name.ends_with("_total")) << f.name;
        }
    }
}

TEST(MetricsExposition, EachFamilyDeclaredOnce) {
    ProcessStats p;
    const std::string out = exposition(Registry{}, kBuild, &p);
    std::set<std::string> seen;
    for (const auto& l : lines_of(out)) {
        if (!l.starts_with("# TYPE ")) continue;
        std::string name = l.substr(7, l.find(' ', 7) - 7);
        EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    }
    EXPECT_EQ(seen.size(), std::size(kFamilies) + 1 + 6);
}

TEST(MetricsExposition, HelpTextsNeedNoEscaping) {
    // TextSerializer writes HELP verbatim: a backslash or a line feed there
    // would break the format.
    for (const FamilyDef& f : kFamilies) EXPECT_EQ(f.help.find_first_of("\\\n"), std::string_view::npos) << f.name;
    EXPECT_EQ(kBuildInfoHelp.find_first_of("\\\n"), std::string_view::npos);
}

TEST(MetricsExposition, EscapesBuildInfoLabels) {
    const std::string out = exposition(Registry{}, BuildInfo{"1.0\"x", "a\\b", "m\nn"}, nullptr);
    EXPECT_TRUE(has_line(out, "porthop_build_info{version=\"1.0\\\"x\",role=\"a\\\\b\",mode=\"m\\nn\"} 1")) << out;
}

TEST(MetricsExposition, WritesProcessFamilies) {
    ProcessStats p;
    p.cpu_seconds = 1.25;
    p.resident_bytes = 1048576;
    p.virtual_bytes = 2097152;
    p.open_fds = 9;
    p.max_fds = 1024;
    p.start_time_seconds = 1700000000.5;
    const std::string out = exposition(Registry{}, kBuild, &p);
    EXPECT_NE(out.find("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
                       "# TYPE process_cpu_seconds_total counter\n"
                       "process_cpu_seconds_total 1.25\n"),
              std::string::npos);
    EXPECT_TRUE(has_line(out, "process_resident_memory_bytes 1048576"));
    EXPECT_TRUE(has_line(out, "process_virtual_memory_bytes 2097152"));
    EXPECT_TRUE(has_line(out, "process_open_fds 9"));
    EXPECT_TRUE(has_line(out, "process_max_fds 1024"));
    EXPECT_TRUE(has_line(out, "process_start_time_seconds 1700000000.5"));
}

TEST(MetricsExposition, OmitsProcessFamiliesWithoutStats) {
    const std::string out = exposition(Registry{}, kBuild, nullptr);
    EXPECT_EQ(out.find("process_"), std::string::npos);
}

TEST(MetricsExposition, RepeatedScrapesOfUnchangedRegistryAreIdentical) {
    Registry r;
    r.add(Family::hops, HopReason::stall, 4);
    const std::string first = exposition(r, kBuild, nullptr);
    EXPECT_EQ(exposition(r, kBuild, nullptr), first);
    EXPECT_TRUE(first.starts_with("# HELP porthop_packets_total "));
}

TEST(MetricsExposition, EndsWithNewline) {
    ProcessStats p;
    const std::string out = exposition(Registry{}, kBuild, &p);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back(), '\n');
}

TEST(MetricsExposition, WritesLargeCountersAsExactIntegers) {
    Registry r;
    r.relayed(Direction::upstream, 1, 123456789012345);  // 112 TiB: exact below 2^53
    const std::string out = exposition(r, kBuild, nullptr);
    EXPECT_TRUE(has_line(out, "porthop_bytes_total{direction=\"upstream\"} 123456789012345")) << out;
}

}  // namespace
}  // namespace porthop::metrics
