#pragma once
// The standard process_* metrics, read from /proc the way the Prometheus
// client libraries do (same names, help and types). Read at scrape time only.
// (prometheus-cpp has no process collector of its own.)

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "metrics/metric_table.hpp"

namespace porthop::metrics {

struct ProcessStats {
    double cpu_seconds = 0;  // user + system
    uint64_t resident_bytes = 0;
    uint64_t virtual_bytes = 0;
    uint64_t open_fds = 0;
    uint64_t max_fds = 0;           // soft RLIMIT_NOFILE
    double start_time_seconds = 0;  // since the Unix epoch
};

// Reads /proc/self/stat, /proc/stat (boot time), /proc/self/fd and
// RLIMIT_NOFILE. nullopt when /proc is unreadable (then the exposition simply
// omits the process_* families).
std::optional<ProcessStats> read_process_stats();

struct ProcessFamilyDef {
    std::string_view name;
    std::string_view help;
    Type type;
};

// Names, help and types as in client_golang's process collector.
inline constexpr ProcessFamilyDef kProcessCpu{"process_cpu_seconds_total",
                                              "Total user and system CPU time spent in seconds.", Type::counter};
inline constexpr ProcessFamilyDef kProcessOpenFds{"process_open_fds", "Number of open file descriptors.", Type::gauge};
inline constexpr ProcessFamilyDef kProcessMaxFds{"process_max_fds", "Maximum number of open file descriptors.",
                                                 Type::gauge};
inline constexpr ProcessFamilyDef kProcessVirtual{"process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                                  Type::gauge};
inline constexpr ProcessFamilyDef kProcessResident{"process_resident_memory_bytes", "Resident memory size in bytes.",
                                                   Type::gauge};
inline constexpr ProcessFamilyDef kProcessStartTime{
    "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::gauge};

// The process_* families of `stats`, in the order above.
std::vector<prometheus::MetricFamily> process_families(const ProcessStats& stats);

// The process_* families of this process at each scrape; none when /proc is
// unreadable.
class ProcessCollector final : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace porthop::metrics
