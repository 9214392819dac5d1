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
    RegistryCollector(const Registry& registry, BuildInfo build) : registry_(registry), build_(std::move(build)) {}

    std::vector<prometheus::MetricFamily> Collect() const override;

    const BuildInfo& build() const { return build_; }

private:
    const Registry& registry_;
    BuildInfo build_;
};

}  // namespace porthop::metrics
