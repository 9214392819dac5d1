// The process_* collector, read from /proc.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "metrics/process_collector.hpp"

namespace porthop::metrics {
namespace {

TEST(MetricsProcess, ReadsStats) { ASSERT_TRUE(read_process_stats().has_value()); }

TEST(MetricsProcess, ResidentMemoryIsPositiveAndBelowVirtual) {
    auto s = read_process_stats();
    ASSERT_TRUE(s);
    EXPECT_GT(s->resident_bytes, 0u);
    EXPECT_GE(s->virtual_bytes, s->resident_bytes);
}

TEST(MetricsProcess, CountsOpenDescriptors) {
    auto before = read_process_stats();
    ASSERT_TRUE(before);
    EXPECT_GE(before->open_fds, 3u);  // stdin, stdout, stderr
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto after = read_process_stats();
    ::close(fd);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->open_fds, before->open_fds + 1);
}

TEST(MetricsProcess, MaxFdsIsTheSoftLimit) {
    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    auto s = read_process_stats();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->max_fds, uint64_t(lim.rlim_cur));
}

TEST(MetricsProcess, StartTimeIsInThePast) {
    auto s = read_process_stats();
    ASSERT_TRUE(s);
    const double now = double(std::time(nullptr));
    EXPECT_GT(s->start_time_seconds, now - 3600);  // this test process started within the hour
    EXPECT_LE(s->start_time_seconds, now + 1);
}

TEST(MetricsProcess, CpuSecondsGrowWithWork) {
    auto before = read_process_stats();
    ASSERT_TRUE(before);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    volatile uint64_t x = 0;
    bool grew = false;
    while (!grew && std::chrono::steady_clock::now() < deadline) {  // burn CPU until the tick counters move
        for (int i = 0; i < 1000000; ++i) x = x + uint64_t(i);
        auto now = read_process_stats();
        ASSERT_TRUE(now);
        grew = now->cpu_seconds > before->cpu_seconds;
    }
    EXPECT_TRUE(grew);
}

}  // namespace
}  // namespace porthop::metrics
