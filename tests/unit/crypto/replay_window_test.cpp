// Session mode's anti-replay window (RFC 6479 style).

#include <gtest/gtest.h>

#include <set>

#include "crypto/session_crypto.hpp"

namespace {

using porthop::crypto::ReplayWindow;

// check + accept, as the relays do once the tag verified.
bool take(ReplayWindow& w, uint64_t c) {
    if (!w.check(c)) return false;
    w.accept(c);
    return true;
}

TEST(ReplayWindow, InOrderCountersAreAcceptedOnce) {
    ReplayWindow w;
    for (uint64_t c = 0; c < 10000; ++c) ASSERT_TRUE(take(w, c)) << c;
    for (uint64_t c = 0; c < 10000; ++c) ASSERT_FALSE(take(w, c)) << c;
}

TEST(ReplayWindow, DuplicateIsRejected) {
    ReplayWindow w;
    EXPECT_TRUE(take(w, 0));
    EXPECT_FALSE(take(w, 0));
    EXPECT_TRUE(take(w, 5));
    EXPECT_FALSE(take(w, 5));
    EXPECT_TRUE(take(w, 3));
    EXPECT_FALSE(take(w, 3));
}

TEST(ReplayWindow, ReorderedWithinTheWindowIsAccepted) {
    ReplayWindow w;
    EXPECT_TRUE(take(w, 5000));
    // Everything in the window below the newest, in reverse order.
    for (uint64_t c = 5000 - 1; c > 5000 - ReplayWindow::kWindow; --c) ASSERT_TRUE(take(w, c)) << c;
    for (uint64_t c = 5000 - 1; c > 5000 - ReplayWindow::kWindow; --c) ASSERT_FALSE(take(w, c)) << c;
    EXPECT_GE(ReplayWindow::kWindow, 1024u);
}

TEST(ReplayWindow, TooOldIsRejected) {
    ReplayWindow w;
    EXPECT_TRUE(take(w, 10000));
    EXPECT_FALSE(w.check(10000 - ReplayWindow::kWindow));
    EXPECT_FALSE(w.check(0));
    EXPECT_TRUE(w.check(10000 - ReplayWindow::kWindow + 1));
}

TEST(ReplayWindow, BigJumpClearsStaleBits) {
    ReplayWindow w;
    for (uint64_t c = 0; c < 3000; ++c) take(w, c);
    // Jump far ahead: the ring's words are reused for new counters, which
    // must not look seen.
    EXPECT_TRUE(take(w, 1'000'000));
    for (uint64_t c = 1'000'000 - 1; c > 1'000'000 - ReplayWindow::kWindow; --c) ASSERT_TRUE(w.check(c)) << c;
    // A jump of less than the ring clears only what it passes.
    EXPECT_TRUE(take(w, 1'000'100));
    EXPECT_FALSE(w.check(1'000'000));
    EXPECT_TRUE(w.check(1'000'050));
}

TEST(ReplayWindow, RandomOrderMatchesAReferenceSet) {
    ReplayWindow w;
    std::set<uint64_t> seen;
    uint64_t newest = 0, x = 12345;
    for (int i = 0; i < 200000; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t c = (x >> 33) % 50000 + static_cast<uint64_t>(i) / 4;
        bool expected = !seen.count(c) && (c > newest || newest - c < ReplayWindow::kWindow);
        ASSERT_EQ(take(w, c), expected) << i << " " << c;
        if (expected) {
            seen.insert(c);
            newest = std::max(newest, c);
        }
    }
}

}  // namespace
