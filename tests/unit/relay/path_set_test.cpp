#include "relay/path_set.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "port_range.hpp"
#include "relay/recent_paths.hpp"

using namespace porthop;
using namespace porthop::relay;
using namespace std::chrono_literals;

namespace {
const net::Address kServer = *net::Address::parse_ip("192.0.2.1", 0);
const HopPolicy kPolicy{Duration(8000), Duration(0), 0};
}  // namespace

TEST(PathSet, PathsStartOnDistinctPortsWithTargetsOnThem) {
    auto ports = port_range(20000, 100);
    Rng rng(7);
    PathSet paths(8, kPolicy, ports, rng, TimePoint{}, kServer);
    std::set<uint16_t> seen;
    for (const Path& p : paths) {
        seen.insert(p.hop.port());
        EXPECT_EQ(p.target.port(), p.hop.port());
        EXPECT_TRUE(p.target.same_ip(kServer));
    }
    EXPECT_EQ(seen.size(), 8u);
}

TEST(PathSet, PathsNeverHopTogether) {
    auto ports = port_range(20000, 100);
    Rng rng(7);
    PathSet paths(4, kPolicy, ports, rng, TimePoint{}, kServer);
    // Without jitter, deadlines a quarter of the interval apart.
    std::set<TimePoint> deadlines;
    for (const Path& p : paths) deadlines.insert(p.hop.next_hop_at());
    ASSERT_EQ(deadlines.size(), 4u);
    auto it = deadlines.begin();
    TimePoint previous = *it++;
    for (; it != deadlines.end(); ++it) {
        EXPECT_EQ(*it - previous, Duration(2000));
        previous = *it;
    }
}

TEST(PathSet, SendsGoRoundRobin) {
    auto ports = port_range(20000, 100);
    Rng rng(7);
    PathSet paths(3, kPolicy, ports, rng, TimePoint{}, kServer);
    std::vector<size_t> order;
    for (int i = 0; i < 6; ++i) order.push_back(paths.next());
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(PathSet, AHopLeavesThePortsOfTheOtherPaths) {
    auto ports = port_range(20000, 8);
    Rng rng(3);
    PathSet paths(3, kPolicy, ports, rng, TimePoint{}, kServer);
    for (int i = 0; i < 200; ++i) {
        TimePoint now = TimePoint{} + std::chrono::seconds(i);
        paths[1].hop.hop(now);
        paths.hopped(1, now);
        std::set<uint16_t> seen;
        for (const Path& p : paths) seen.insert(p.hop.port());
        EXPECT_EQ(seen.size(), 3u);
        EXPECT_EQ(paths[1].target.port(), paths[1].hop.port());
    }
}

TEST(PathSet, APathThatHearsNothingWhileOthersDoIsStalled) {
    auto ports = port_range(20000, 100);
    Rng rng(7);
    TimePoint t0 = TimePoint{} + 100s;
    PathSet paths(3, kPolicy, ports, rng, t0, kServer);
    TimePoint now = t0 + 3s;
    for (Path& p : paths) {
        p.last_sent = now - 100ms;
        p.last_reply = now - 100ms;
    }
    EXPECT_FALSE(paths.stalled(now, Duration(0)));
    paths[2].last_reply = t0;
    EXPECT_EQ(paths.stalled(now, Duration(0)), 2u);
    // A longer --hop-on-stall waits longer.
    EXPECT_FALSE(paths.stalled(now, Duration(5000)));
}

TEST(PathSet, ASessionWhosePathsAllHearNothingIsNotAPathStall) {
    auto ports = port_range(20000, 100);
    Rng rng(7);
    TimePoint t0 = TimePoint{} + 100s;
    PathSet paths(3, kPolicy, ports, rng, t0, kServer);
    TimePoint now = t0 + 3s;
    for (Path& p : paths) p.last_sent = now - 100ms;
    EXPECT_FALSE(paths.stalled(now, Duration(0)));
}

TEST(RecentPaths, RepliesSpreadOverThePairsHeardTogether) {
    RecentPaths recent;
    auto peer = *net::Address::parse_ip("198.51.100.7", 40000);
    TimePoint now = TimePoint{} + 10s;
    for (size_t listener = 0; listener < 4; ++listener) recent.heard(listener, peer, now);
    for (size_t listener = 0; listener < 4; ++listener) recent.heard(listener, peer, now + 1ms);
    EXPECT_EQ(recent.live(now + 2ms), 4u);
    std::set<size_t> used;
    for (int i = 0; i < 4; ++i) used.insert(recent.pick(now + 2ms, RecentPaths::kChunk)->listener);
    EXPECT_EQ(used.size(), 4u);
}

TEST(RecentPaths, PairsHeardInTurnAtDistinctTimesAllGetReplies) {
    // The client sends on its paths in turn: each pair is heard a moment
    // after another one appeared.
    RecentPaths recent;
    auto peer = *net::Address::parse_ip("198.51.100.7", 40000);
    TimePoint now = TimePoint{} + 10s;
    for (int round = 0; round < 3; ++round) {
        for (size_t listener = 0; listener < 4; ++listener) recent.heard(listener, peer, now += 5ms);
    }
    EXPECT_EQ(recent.live(now + 1ms), 4u);
    std::set<size_t> used;
    for (int i = 0; i < 4; ++i) used.insert(recent.pick(now + 1ms, RecentPaths::kChunk)->listener);
    EXPECT_EQ(used.size(), 4u);
}

TEST(RecentPaths, AStragglerOnAPairJustLeftDoesNotBringItBack) {
    RecentPaths recent;
    auto old_source = *net::Address::parse_ip("198.51.100.7", 40000);
    auto new_source = *net::Address::parse_ip("198.51.100.7", 40001);
    TimePoint now = TimePoint{} + 10s;
    recent.heard(0, old_source, now);
    recent.heard(1, new_source, now + 1ms);
    recent.heard(0, old_source, now + 2ms);  // sent before the hop, read after
    recent.heard(1, new_source, now + 50ms);
    EXPECT_EQ(recent.live(now + 51ms), 1u);
    EXPECT_EQ(recent.pick(now + 51ms, 100)->peer, new_source);
}

TEST(RecentPaths, APairBackAfterASilenceOfTheWindowCountsAsNew) {
    RecentPaths recent;
    auto peer = *net::Address::parse_ip("198.51.100.7", 40000);
    TimePoint now = TimePoint{} + 10s;
    recent.heard(0, peer, now);
    recent.heard(1, peer, now + 1ms);
    recent.heard(0, peer, now + RecentPaths::kWindow + 2ms);  // a hop back to port 0
    EXPECT_EQ(recent.live(now + RecentPaths::kWindow + 3ms), 1u);
}

TEST(RecentPaths, ASinglePathThatHopsEveryHalfSecondKeepsFewPairs) {
    RecentPaths recent;
    auto peer = *net::Address::parse_ip("198.51.100.7", 40000);
    TimePoint now = TimePoint{} + 10s;
    for (size_t hop = 0; hop < 100; ++hop) {
        for (int i = 0; i < 10; ++i) recent.heard(hop, peer, now += 50ms);
    }
    EXPECT_EQ(recent.live(now), 1u);
    EXPECT_LE(recent.size(), 3u);  // at most three pairs within kWindow
}

TEST(RecentPaths, APairLeftForANewOneGetsNoReplies) {
    RecentPaths recent;
    auto old_source = *net::Address::parse_ip("198.51.100.7", 40000);
    auto new_source = *net::Address::parse_ip("198.51.100.7", 40001);
    TimePoint now = TimePoint{} + 10s;
    recent.heard(0, old_source, now);
    recent.heard(1, new_source, now + 1ms);
    EXPECT_EQ(recent.live(now + 2ms), 1u);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(recent.pick(now + 2ms, RecentPaths::kChunk)->peer, new_source);
}

TEST(RecentPaths, NothingHeardWithinTheWindowPicksNothing) {
    RecentPaths recent;
    auto peer = *net::Address::parse_ip("198.51.100.7", 40000);
    TimePoint now = TimePoint{} + 10s;
    recent.heard(0, peer, now);
    EXPECT_EQ(recent.pick(now + RecentPaths::kWindow, 100), nullptr);
}
