// The adaptive hop triggers on synthetic traffic: a simulated session, ticked
// every kAdaptiveTick, whose downstream rate comes from a model of the ISP
// (by the age or the volume of the current port's flow, or a blackhole) or
// of the application (steady, paused, bursty), and whose upstream carries
// ACKs for what came down, like a QUIC download (or, for a request/response
// application, requests that the downstream answers).
#include "relay/adaptive_hops.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;
using porthop::metrics::HopReason;

namespace {

constexpr double kFast = 10e6;      // bytes/s: an unthrottled port (80 Mbit/s)
constexpr double kSlow = 62.5e3;    // bytes/s: the lab's 500 kbit/s throttle
constexpr double kAckShare = 0.03;  // upstream ACK bytes per downstream byte

// What the current port's flow gets: (seconds since the hop, bytes on it).
using PortModel = std::function<double(double age, double bytes)>;
// What the application sends down (bytes/s) at time t, when it is the limit.
using AppModel = std::function<double(double t)>;

struct Hop {
    double at;
    HopReason reason;
};

struct Sim {
    AdaptivePolicy policy{500ms, true};
    AdaptiveHops adaptive{TimePoint{}};
    TimePoint now{};
    double port_since = 0;
    double port_bytes = 0;
    double delivered = 0;
    std::vector<Hop> hops;
    double chatter = 0;  // bytes/s the application sends up regardless
    // true: upstream ACKs follow the data (a QUIC download: the last datagram
    // of a burst goes up, unanswered); false: requests that the data answers.
    bool ack_after_data = true;

    double t() const { return std::chrono::duration<double>(now.time_since_epoch()).count(); }

    // Runs `seconds`; the downstream rate is the lower of what the port and
    // the application allow. Upstream: ACKs for it plus any chatter.
    void run(
        double seconds, const PortModel& port, const AppModel& app = [](double) { return kFast; }) {
        double dt = std::chrono::duration<double>(kAdaptiveTick).count();
        for (double end = t() + seconds - 1e-9; t() < end;) {
            double rate = std::min(port(t() - port_since, port_bytes), app(t()));
            auto down = static_cast<uint64_t>(rate * dt);
            auto up = static_cast<uint64_t>(static_cast<double>(down) * kAckShare + chatter * dt);
            now += kAdaptiveTick;
            if (ack_after_data) {
                if (down != 0) adaptive.received(down);
                if (up != 0) adaptive.sent(now - 10ms, up);
            } else {
                if (up != 0) adaptive.sent(now - 90ms, up);
                if (down != 0) adaptive.received(down);
            }
            port_bytes += static_cast<double>(down);
            delivered += static_cast<double>(down);
            if (auto reason = adaptive.tick(policy, now)) {
                hops.push_back({t(), *reason});
                port_since = t();
                port_bytes = 0;
            }
        }
    }
    int count(HopReason r) const {
        int n = 0;
        for (const Hop& h : hops) n += h.reason == r ? 1 : 0;
        return n;
    }
};

PortModel unthrottled() {
    return [](double, double) { return kFast; };
}
PortModel throttled_by_age(double seconds) {
    return [seconds](double age, double) { return age < seconds ? kFast : kSlow; };
}
PortModel throttled_by_volume(double bytes) {
    return [bytes](double, double carried) { return carried < bytes ? kFast : kSlow; };
}
PortModel blackholed_after(double seconds) {
    return [seconds](double age, double) { return age < seconds ? kFast : 0.0; };
}

}  // namespace

TEST(AdaptiveHops, ThrottleByAgeHopsOnSlowdownOnTheFirstPortAndEveryPortAfter) {
    Sim sim;
    sim.run(10, throttled_by_age(1.0));
    ASSERT_FALSE(sim.hops.empty());
    // Throttled at 1 s; noticed once the whole window is slow.
    EXPECT_GE(sim.hops[0].at, 1.2);
    EXPECT_LE(sim.hops[0].at, 1.6);
    EXPECT_EQ(sim.count(HopReason::stall), 0);
    EXPECT_GE(sim.count(HopReason::slowdown), 6);
    // Most of the time on a fast port: > 60% of the unthrottled volume.
    EXPECT_GT(sim.delivered, 0.6 * kFast * 10);
}

TEST(AdaptiveHops, ThrottleByVolumeHopsOnSlowdown) {
    Sim sim;
    sim.run(10, throttled_by_volume(4e6));
    EXPECT_EQ(sim.count(HopReason::stall), 0);
    EXPECT_GE(sim.count(HopReason::slowdown), 6);
    EXPECT_GT(sim.delivered, 0.4 * kFast * 10);
    // Without adaptation the same 10 s carry 4 MB and a trickle.
    Sim off;
    off.policy = {};
    off.run(10, throttled_by_volume(4e6));
    EXPECT_TRUE(off.hops.empty());
    EXPECT_LT(off.delivered, 5e6);
}

TEST(AdaptiveHops, BlackholeHopsOnStallNotOnSlowdown) {
    Sim sim;
    // Blackholed after 1 s; the client then only probes (chatter).
    sim.chatter = 500;
    sim.run(1.0, unthrottled());
    sim.run(3.0, blackholed_after(1.0));
    ASSERT_FALSE(sim.hops.empty());
    EXPECT_EQ(sim.hops[0].reason, HopReason::stall);
    EXPECT_GE(sim.hops[0].at, 1.5);  // the stall time after the last reply
    EXPECT_LE(sim.hops[0].at, 1.65);
    EXPECT_EQ(sim.count(HopReason::slowdown), 0);
}

TEST(AdaptiveHops, IdleSessionNeverHops) {
    Sim sim;
    sim.ack_after_data = false;  // the last datagram was answered
    sim.run(2, unthrottled());
    sim.run(120, unthrottled(), [](double) { return 0.0; });  // nothing either way
    EXPECT_TRUE(sim.hops.empty());
}

TEST(AdaptiveHops, SessionQuietAfterAnUnansweredDatagramHopsOnceOnStallThenNeverAgain) {
    Sim sim;  // a QUIC download that ends: its last ACK goes up, unanswered
    sim.run(2, unthrottled());
    sim.run(120, unthrottled(), [](double) { return 0.0; });
    ASSERT_EQ(sim.hops.size(), 1u);
    EXPECT_EQ(sim.hops[0].reason, HopReason::stall);
    EXPECT_NEAR(sim.hops[0].at, 2.5, 0.11);
}

TEST(AdaptiveHops, SessionResumingAfterIdleDoesNotHopWhenAnswered) {
    Sim sim;
    sim.ack_after_data = false;
    sim.run(2, unthrottled());
    sim.run(30, unthrottled(), [](double) { return 0.0; });
    sim.run(5, unthrottled(), [](double) { return 300e3; });
    EXPECT_TRUE(sim.hops.empty());
}

TEST(AdaptiveHops, AppLimitedSteadyStreamNeverHops) {
    Sim sim;
    sim.run(120, unthrottled(), [](double) { return 500e3; });  // 4 Mbit/s, above the floor
    EXPECT_TRUE(sim.hops.empty());
}

// 2 s at 8 Mbit/s, 2 s of silence, over and over.
double bursts_and_pauses(double t) { return static_cast<int>(t) % 4 < 2 ? 1e6 : 0.0; }

void expect_at_most_one_hop_per_30s(const std::vector<Hop>& hops) {
    for (size_t i = 1; i < hops.size(); ++i) {
        EXPECT_GE(hops[i].at - hops[i - 1].at, 30.0 - 1e-6) << "hop " << i;
    }
}

TEST(AdaptiveHops, RequestResponseStreamWithPausesNeverHops) {
    Sim sim;
    sim.ack_after_data = false;
    sim.run(120, unthrottled(), bursts_and_pauses);
    EXPECT_TRUE(sim.hops.empty());
}

TEST(AdaptiveHops, DownloadWithPausesHopsAtMostOncePer30s) {
    Sim sim;  // each pause starts with an unanswered ACK: a stall to the relay
    sim.run(120, unthrottled(), bursts_and_pauses);
    EXPECT_EQ(sim.count(HopReason::slowdown), 0);
    expect_at_most_one_hop_per_30s(sim.hops);
    EXPECT_LE(sim.hops.size(), 3u);  // 30 s, then 60 s apart
}

TEST(AdaptiveHops, AppLimitedStreamThatSlowsDownHopsAtMostOncePer30s) {
    Sim sim;
    // 2 s at 8 Mbit/s, then 3 s at 400 kbit/s: a throttle to the detector,
    // but a hop never makes it faster, so the guard backs off.
    sim.ack_after_data = false;
    sim.run(125, unthrottled(), [](double t) { return static_cast<int>(t) % 5 < 2 ? 1e6 : 50e3; });
    ASSERT_GE(sim.hops.size(), 1u);  // the first slowdown is taken for a throttle
    EXPECT_EQ(sim.count(HopReason::stall), 0);
    expect_at_most_one_hop_per_30s(sim.hops);
    EXPECT_LE(sim.hops.size(), 3u);  // 30 s, then 60 s apart
}

TEST(AdaptiveHops, SlowStreamsBelowTheFloorNeverTrigger) {
    Sim sim;
    sim.run(60, unthrottled(), [](double t) { return t < 10 ? 200e3 : 10e3; });  // 1.6 Mbit/s, then 80 kbit/s
    EXPECT_TRUE(sim.hops.empty());
}

TEST(AdaptiveHops, OptionsOffNeverHop) {
    Sim sim;
    sim.policy = {};
    sim.chatter = 500;
    sim.run(20, blackholed_after(1.0));
    EXPECT_TRUE(sim.hops.empty());
    Sim stall_only;
    stall_only.policy = {500ms, false};
    stall_only.run(10, throttled_by_age(1.0));
    EXPECT_TRUE(stall_only.hops.empty());  // a trickle still comes back: no stall
}

TEST(AdaptiveHops, SlowdownGuardBacksOffWhenHopsDoNotHelpAndResetsWhenOneDoes) {
    Sim sim;
    sim.ack_after_data = false;
    // 1 s at 80 Mbit/s every 10 s (the peak stays up), a trickle in between
    // that no hop improves.
    auto app = [](double t) { return static_cast<int>(t) % 10 < 1 ? kFast : 20e3; };
    std::vector<Duration> guards;
    while (sim.hops.size() < 4 && sim.t() < 600) {
        size_t before = sim.hops.size();
        sim.run(0.1, unthrottled(), app);
        if (sim.hops.size() != before) guards.push_back(sim.adaptive.slowdown_guard());
    }
    ASSERT_EQ(sim.hops.size(), 4u);
    for (const Hop& h : sim.hops) EXPECT_EQ(h.reason, HopReason::slowdown);
    // The guard in force when each hop was taken: none yet, then the
    // backoff after each hop that did not help.
    EXPECT_EQ(guards[0], AdaptiveHops::kMinGap);
    EXPECT_EQ(guards[1], AdaptiveHops::kBackoffFirst);
    EXPECT_EQ(guards[2], AdaptiveHops::kBackoffFirst * 2);
    EXPECT_EQ(guards[3], AdaptiveHops::kBackoffFirst * 4);
    sim.run(3, unthrottled(), app);
    EXPECT_EQ(sim.adaptive.slowdown_guard(), AdaptiveHops::kBackoffFirst * 8);
    sim.run(1000, unthrottled(), app);
    EXPECT_EQ(sim.adaptive.slowdown_guard(), AdaptiveHops::kBackoffMax);
    // Then an interval hop reaches a port that the ISP throttles after 15 s
    // (the guard passes meanwhile): the slowdown hop helps, and the guard is
    // back to its minimum.
    sim.run(sim.hops.back().at + 230 - sim.t(), unthrottled(), app);
    sim.port_since = sim.t();
    size_t before = sim.hops.size();
    sim.run(16, throttled_by_age(15.0));
    ASSERT_EQ(sim.hops.size(), before + 1);
    EXPECT_EQ(sim.hops.back().reason, HopReason::slowdown);
    sim.run(0.5, throttled_by_age(15.0));
    EXPECT_EQ(sim.adaptive.slowdown_guard(), AdaptiveHops::kMinGap);
}

TEST(AdaptiveHops, StallHopsBackOffWhileNothingAnswersAndNeverStorm) {
    Sim sim;
    sim.chatter = 2000;  // the application keeps sending; the server relay is down
    sim.run(240, [](double, double) { return 0.0; });
    ASSERT_EQ(sim.hops.size(), 4u);  // at 0.5 s, then 30, 60 and 120 s apart
    for (const Hop& h : sim.hops) EXPECT_EQ(h.reason, HopReason::stall);
    EXPECT_NEAR(sim.hops[0].at, 0.5, 0.11);
    EXPECT_NEAR(sim.hops[1].at - sim.hops[0].at, 30, 0.11);
    EXPECT_NEAR(sim.hops[2].at - sim.hops[1].at, 60, 0.11);
    EXPECT_NEAR(sim.hops[3].at - sim.hops[2].at, 120, 0.11);
}

TEST(AdaptiveHops, AnsweredStallHopResetsTheStallGuard) {
    Sim sim;
    sim.chatter = 2000;
    sim.run(20, [](double, double) { return 0.0; });  // one unanswered stall hop
    EXPECT_EQ(sim.adaptive.stall_guard(), AdaptiveHops::kBackoffFirst);
    // The next stall hop, 30 s after the first, reaches a port that answers.
    sim.run(12, [&sim](double, double) { return sim.hops.size() < 2 ? 0.0 : kFast; });
    sim.run(2, unthrottled());
    ASSERT_EQ(sim.hops.size(), 2u);
    EXPECT_EQ(sim.adaptive.stall_guard(), AdaptiveHops::kMinGap);
}

TEST(AdaptiveHops, AnOldFlowsTailDoesNotHideABlockedNewPort) {
    // After a hop to a blocked port the server relay still answers on the
    // port the session left (it has not heard it on the new one): that tail
    // is data, not an answer from where the session sends.
    AdaptivePolicy policy{300ms, false};
    AdaptiveHops adaptive{TimePoint{}};
    TimePoint now{};
    std::optional<HopReason> hop;
    uint64_t tail = 0;
    for (int tick = 0; tick < 10 && !hop; ++tick) {
        adaptive.sent(now, 100);
        adaptive.received_tail(12'000);
        tail += 12'000;
        now += kAdaptiveTick;
        hop = adaptive.tick(policy, now);
    }
    ASSERT_TRUE(hop.has_value());
    EXPECT_EQ(*hop, HopReason::stall);
    EXPECT_EQ(now, TimePoint{} + 300ms);
    EXPECT_EQ(adaptive.received_bytes(), tail);  // still counted as data
}

TEST(AdaptiveHops, AScheduledHopBeforeAStallHopIsJudgedLeavesNoBackoff) {
    // A stall hop, then the hop schedule moves on before anything could
    // answer on the port it reached (as at 500 ms intervals): that says
    // nothing about whether the port was the cause, so stall hops stay on.
    AdaptivePolicy policy{300ms, false};
    AdaptiveHops adaptive{TimePoint{}};
    TimePoint now{};
    adaptive.sent(now, 100);
    std::optional<HopReason> hop;
    while (!hop) {
        now += kAdaptiveTick;
        hop = adaptive.tick(policy, now);
    }
    ASSERT_EQ(*hop, HopReason::stall);
    now += 200ms;
    adaptive.scheduled_hop();
    for (int tick = 0; tick < 15; ++tick) {  // past the judgment, nothing answers
        now += kAdaptiveTick;
        adaptive.tick(policy, now);
    }
    EXPECT_EQ(adaptive.stall_guard(), AdaptiveHops::kMinGap);
}

TEST(AdaptiveHops, AnUnansweredStallHopWithoutScheduledHopStillBacksOff) {
    AdaptivePolicy policy{300ms, false};
    AdaptiveHops adaptive{TimePoint{}};
    TimePoint now{};
    adaptive.sent(now, 100);
    for (int tick = 0; tick < 20; ++tick) {
        now += kAdaptiveTick;
        adaptive.tick(policy, now);
    }
    EXPECT_EQ(adaptive.stall_guard(), AdaptiveHops::kBackoffFirst);
}
