// What `porthop probe` prints (src/probe/probe_report): the summary names
// the verdict and the flags to use, the chart plots the flows, the JSON
// carries the same for scripts.

#include "probe/probe_report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace porthop;
using namespace porthop::probe;

namespace {

// A flow sampled every 0.5 s for `seconds`, at `before` bytes/s until
// `drop_at` (0: never) and `after` from then on.
FlowResult steady(const char* label, double start_s, double seconds, double before, double drop_at = 0,
                  double after = 0) {
    FlowResult f;
    f.label = label;
    f.start_s = start_s;
    f.series.requested_rate = before;
    double total = 0;
    for (double age = 0.5; age <= seconds + 1e-9; age += 0.5) {
        double rate = drop_at > 0 && age > drop_at ? after : before;
        total += rate * 0.5;
        f.series.samples.push_back({age, 0.5, rate * 0.5, total});
    }
    f.down_bytes = static_cast<uint64_t>(total);
    return f;
}

ProbeResult throttled_by_age() {
    ProbeResult r;
    r.fast = steady("long", 0, 12, 1e6, 4, 2e4);
    r.slow = steady("long/4", 0, 12, 2.5e5, 4, 5e3);
    for (int i = 0; i < 5; ++i) r.fresh.push_back(steady("fresh", 0.5 + 2 * i, 1, 1e6));
    r.elapsed_s = 12;
    r.answered = true;
    r.received_bytes = r.fast.down_bytes + r.slow.down_bytes;
    return r;
}

Analysis analyze_result(const ProbeResult& r) {
    std::vector<FlowSeries> fresh;
    for (const auto& f : r.fresh) fresh.push_back(f.series);
    return analyze(r.fast.series, r.slow.series, fresh);
}

}  // namespace

TEST(ProbeReport, SummaryNamesTheThrottleAndTheFlagToUse) {
    ProbeResult r = throttled_by_age();
    Analysis a = analyze_result(r);
    std::string text = render_summary({"vps:20000-20999", 12, 1'000'000, r, a});
    EXPECT_NE(text.find("Throttling: YES, by flow age"), std::string::npos) << text;
    EXPECT_NE(text.find("Recommended: --hop-interval 2s"), std::string::npos) << text;
    EXPECT_NE(text.find("rate (Mbit/s) over time"), std::string::npos) << text;
}

TEST(ProbeReport, SummaryWithoutThrottlingRecommendsNoChange) {
    ProbeResult r = throttled_by_age();
    r.fast = steady("long", 0, 12, 1e6);
    r.slow = steady("long/4", 0, 12, 2.5e5);
    Analysis a = analyze_result(r);
    std::string text = render_summary({"vps:1", 12, 1'000'000, r, a});
    EXPECT_NE(text.find("no throttling seen"), std::string::npos) << text;
    EXPECT_NE(text.find("no change"), std::string::npos) << text;
    EXPECT_EQ(text.find("--hop-interval 2s"), std::string::npos) << text;
}

TEST(ProbeReport, SummaryWithoutAnswerSaysWhatToCheck) {
    ProbeResult r;
    Analysis a;
    std::string text = render_summary({"vps:1", 10, 1'000'000, r, a});
    EXPECT_NE(text.find("no answer from the server relay"), std::string::npos) << text;
}

TEST(ProbeReport, ChartShowsTheLongFlowFallingAndFreshFlowsOnTop) {
    ProbeResult r = throttled_by_age();
    std::string chart = render_chart(r, 24, 6);
    std::vector<std::string> lines;
    for (size_t at = 0, nl; (nl = chart.find('\n', at)) != std::string::npos; at = nl + 1)
        lines.push_back(chart.substr(at, nl - at));
    ASSERT_EQ(lines.size(), 1u + 6 + 2);  // title, rows, axis line, labels
    const std::string& top = lines[1];
    const std::string& bottom = lines[6];
    // Columns are 0.5 s: the long flow tops the first 8, sits at the bottom
    // after 4 s, and fresh flows reach the top later.
    size_t origin = top.find('|') + 1;
    EXPECT_NE(std::string("A*").find(top[origin]), std::string::npos) << chart;
    EXPECT_NE(bottom.find_first_of("A*", origin + 9), std::string::npos) << chart;
    EXPECT_NE(top.find('f', origin + 9), std::string::npos) << chart;
}

TEST(ProbeReport, JsonCarriesTheVerdictForScripts) {
    ProbeResult r = throttled_by_age();
    Analysis a = analyze_result(r);
    auto doc = nlohmann::json::parse(render_json({"vps:20000-20999", 12, 1'000'000, r, a}));
    EXPECT_EQ(doc["throttled"], true);
    EXPECT_EQ(doc["kind"], "age");
    EXPECT_DOUBLE_EQ(doc["onset"]["age_s"].get<double>(), 4.0);
    EXPECT_EQ(doc["recommended"]["hop_interval"], "2s");
    EXPECT_FALSE(doc["recommended"].contains("hop_bytes"));
    EXPECT_EQ(doc["flows"]["fresh"].size(), 5u);
    EXPECT_EQ(doc["flows"]["long"]["samples"].size(), 24u);
    EXPECT_EQ(doc["received_bytes"], r.received_bytes);
}
