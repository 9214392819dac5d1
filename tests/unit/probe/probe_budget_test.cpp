// What the server relay may send to one probe (src/probe/probe_budget):
// never more than asked per second or in total, never beyond the caps, and
// only while requests keep coming.

#include "probe/probe_budget.hpp"

#include <gtest/gtest.h>

using namespace porthop;
using namespace porthop::probe;
using namespace std::chrono_literals;

namespace {

constexpr size_t kPath = 1472;  // largest datagram on the path

// Runs the bucket in 5 ms ticks for `duration`, asking again every
// `ask_every` (0: only once); returns the bytes sent.
uint64_t run(ProbeBudget& b, const Request& r, const ProbeCaps& caps, std::chrono::milliseconds duration,
             std::chrono::milliseconds ask_every = 100ms) {
    TimePoint t{};
    b.ask(r, kPath, t, caps);
    TimePoint last_ask = t;
    for (auto elapsed = 0ms; elapsed <= duration; elapsed += 5ms) {
        TimePoint now = t + elapsed;
        if (ask_every.count() != 0 && now - last_ask >= ask_every) {
            b.ask(r, kPath, now, caps);
            last_ask = now;
        }
        b.spend(b.datagrams(now));
    }
    return b.sent();
}

}  // namespace

TEST(ProbeBudget, NeverSendsFasterThanAsked) {
    ProbeBudget b;
    ProbeCaps caps;
    Request r{1200, 100'000, 1'000'000'000, 0};
    uint64_t sent = run(b, r, caps, 2000ms);
    // 2 s at 100 kB/s, plus at most one burst.
    EXPECT_LE(sent, 200'000u + 1200 * 2);
    EXPECT_GE(sent, 190'000u);
}

TEST(ProbeBudget, NeverSendsMoreThanTheTotalAsked) {
    ProbeBudget b;
    Request r{1200, 1'000'000, 50'000, 0};
    EXPECT_LE(run(b, r, {}, 2000ms), 50'000u);
    EXPECT_GE(b.sent(), 50'000u - 1200);
}

TEST(ProbeBudget, CapsHoldWhateverIsAsked) {
    ProbeBudget b;
    ProbeCaps caps;
    caps.max_rate = 200'000;
    caps.max_total = 300'000;
    Request r{65535, UINT32_MAX, UINT64_MAX, 0};
    uint64_t sent = run(b, r, caps, 1000ms);
    EXPECT_EQ(b.rate(), 200'000u);
    EXPECT_EQ(b.total(), 300'000u);
    EXPECT_EQ(b.size(), kPath) << "datagrams no larger than the path takes";
    EXPECT_LE(sent, 200'000u + kPath * 2);
    EXPECT_LE(run(b, r, caps, 3000ms), 300'000u);
}

TEST(ProbeBudget, StopsWhenRequestsStop) {
    ProbeBudget b;
    ProbeCaps caps;
    caps.liveness = 200ms;
    Request r{1200, 100'000, 1'000'000'000, 0};
    uint64_t sent = run(b, r, caps, 3000ms, 0ms);  // asked once
    EXPECT_LE(sent, 100'000u * 2 / 10 + 1200 * 2);
    EXPECT_FALSE(b.live(TimePoint{} + 3000ms));
}

TEST(ProbeBudget, TinyDatagramsAreRaisedToTheMessageSize) {
    ProbeBudget b;
    b.ask({1, 1000, 1000, 0}, kPath, TimePoint{}, {});
    EXPECT_EQ(b.size(), ProbeBudget::kMinSize);
}

TEST(ProbeBudget, ForfeitedTokensAreNotSavedUp) {
    ProbeBudget b;
    TimePoint t{};
    b.ask({1200, 1'000'000, 1'000'000'000, 0}, kPath, t, {});
    size_t n = b.datagrams(t + 10ms);
    EXPECT_GT(n, 0u);
    b.forfeit();
    EXPECT_EQ(b.datagrams(t + 10ms), 0u);
    EXPECT_EQ(b.sent(), 0u);
}
