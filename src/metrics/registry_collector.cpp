#include "metrics/registry_collector.hpp"

#include "metrics/text_format.hpp"

namespace porthop::metrics {

uint64_t RegistryCollector::sum(size_t series) const {
    uint64_t total = 0;
    for (const Registry* r : registries_) total += r->series(series);
    return total;
}

std::vector<prometheus::MetricFamily> RegistryCollector::Collect() const {
    std::vector<prometheus::MetricFamily> families;
    families.reserve(std::size(kFamilies) + 2);
    size_t index = 0;
    for (const FamilyDef& def : kFamilies) {
        prometheus::MetricFamily& family = families.emplace_back(make_family(def.name, def.help, def.type));
        family.metric.reserve(series_count(def));
        if (def.values.empty()) {
            add_sample(family, double(sum(index++)));
            continue;
        }
        for (std::string_view value : def.values) {
            add_sample(family, double(sum(index++)), {{std::string(def.label), std::string(value)}});
        }
    }
    if (per_worker_) {
        prometheus::MetricFamily& workers =
            families.emplace_back(make_family(kWorkerSessionsName, kWorkerSessionsHelp, Type::gauge));
        for (size_t w = 0; w < registries_.size(); ++w) {
            add_sample(workers, double(registries_[w]->get(Family::sessions)),
                       {{std::string(kWorkerLabel), std::to_string(w)}});
        }
    }
    prometheus::MetricFamily& build = families.emplace_back(make_family(kBuildInfoName, kBuildInfoHelp, Type::gauge));
    add_sample(build, 1, {{"version", build_.version}, {"role", build_.role}, {"mode", build_.mode}});
    return families;
}

}  // namespace porthop::metrics
