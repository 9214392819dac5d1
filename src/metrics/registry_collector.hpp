#pragma once
// The relay's counters as prometheus-cpp sees them. The hot path keeps
// incrementing the Registry's plain array; only a scrape calls Collect(),
// which copies every series of kFamilies (zeros included) and
// porthop_build_info into prometheus-cpp's MetricFamily values. It may
// allocate: it runs per scrape, never per packet.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

#include "metrics/registry.hpp"

namespace porthop::metrics {

// The labels of porthop_build_info.
struct BuildInfo {
    std::string version;
    std::string role;  // "client" / "server"
    std::string mode;  // "plain" / "session"
};

class RegistryCollector final : public prometheus::Collectable {
public:
    // `registry` must outlive the collector.
    RegistryCollector(const Registry& registry, BuildInfo build) : registries_{&registry}, build_(std::move(build)) {}
    // The workers of a server relay, one registry each: every series is the
    // sum over them, and porthop_worker_sessions tells each worker's
    // sessions. The registries must outlive the collector.
    RegistryCollector(std::vector<const Registry*> workers, BuildInfo build)
        : registries_(std::move(workers)),
          build_(std::move(build)),
          per_worker_(true) {}

    std::vector<prometheus::MetricFamily> Collect() const override;

    const BuildInfo& build() const { return build_; }

private:
    uint64_t sum(size_t series) const;

    std::vector<const Registry*> registries_;
    BuildInfo build_;
    bool per_worker_ = false;
};

}  // namespace porthop::metrics
