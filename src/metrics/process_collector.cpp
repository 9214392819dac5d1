#include "metrics/process_collector.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "metrics/text_format.hpp"

namespace porthop::metrics {
namespace {

// Reads a small /proc file whole; empty on failure.
std::string read_small_file(const char* path) {
    std::string out;
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, size_t(n));
    }
    ::close(fd);
    return out;
}

bool parse_u64(std::string_view text, uint64_t& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size();
}

// Boot time in seconds since the epoch, from the "btime" line of /proc/stat.
std::optional<uint64_t> boot_time() {
    std::string stat = read_small_file("/proc/stat");
    std::string_view view(stat);
    size_t pos = 0;
    while (pos < view.size()) {
        size_t end = view.find('\n', pos);
        if (end == std::string_view::npos) end = view.size();
        std::string_view line = view.substr(pos, end - pos);
        if (line.starts_with("btime ")) {
            uint64_t value = 0;
            if (parse_u64(line.substr(6), value)) return value;
            return std::nullopt;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

uint64_t count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    uint64_t count = 0;
    while (dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] == '.') continue;
        ++count;
    }
    ::closedir(dir);
    return count > 0 ? count - 1 : 0;  // not the descriptor of the listing itself
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
    std::string stat = read_small_file("/proc/self/stat");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
    // the fields start after the last ')'.
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::string_view rest = std::string_view(stat).substr(close + 1);
    // Fields after comm, counting from 3 (state) as in proc(5).
    uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
    int field = 2;
    size_t pos = 0;
    while (pos < rest.size()) {
        while (pos < rest.size() && (rest[pos] == ' ' || rest[pos] == '\n')) ++pos;
        if (pos >= rest.size()) break;
        size_t end = rest.find_first_of(" \n", pos);
        if (end == std::string_view::npos) end = rest.size();
        std::string_view token = rest.substr(pos, end - pos);
        ++field;
        switch (field) {
            case 14: parse_u64(token, utime); break;
            case 15: parse_u64(token, stime); break;
            case 22: parse_u64(token, starttime); break;
            case 23: parse_u64(token, vsize); break;
            case 24: parse_u64(token, rss_pages); break;
            default: break;
        }
        if (field >= 24) break;
        pos = end;
    }
    if (field < 24) return std::nullopt;

    long ticks = ::sysconf(_SC_CLK_TCK);
    long page = ::sysconf(_SC_PAGESIZE);
    if (ticks <= 0) ticks = 100;
    if (page <= 0) page = 4096;

    ProcessStats s;
    s.cpu_seconds = double(utime + stime) / double(ticks);
    s.virtual_bytes = vsize;
    s.resident_bytes = rss_pages * uint64_t(page);
    s.open_fds = count_open_fds();
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = uint64_t(lim.rlim_cur);
    if (auto boot = boot_time()) s.start_time_seconds = double(*boot) + double(starttime) / double(ticks);
    return s;
}

std::vector<prometheus::MetricFamily> process_families(const ProcessStats& stats) {
    std::vector<prometheus::MetricFamily> families;
    families.reserve(6);
    auto one = [&families](const ProcessFamilyDef& def, double value) {
        add_sample(families.emplace_back(make_family(def.name, def.help, def.type)), value);
    };
    one(kProcessCpu, stats.cpu_seconds);
    one(kProcessOpenFds, double(stats.open_fds));
    one(kProcessMaxFds, double(stats.max_fds));
    one(kProcessVirtual, double(stats.virtual_bytes));
    one(kProcessResident, double(stats.resident_bytes));
    one(kProcessStartTime, stats.start_time_seconds);
    return families;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    std::optional<ProcessStats> stats = read_process_stats();
    return stats ? process_families(*stats) : std::vector<prometheus::MetricFamily>{};
}

}  // namespace porthop::metrics
