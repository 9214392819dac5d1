#include "metrics/registry_collector.hpp"

#include "metrics/text_format.hpp"

namespace porthop::metrics {

std::vector<prometheus::MetricFamily> RegistryCollector::Collect() const {
    std::vector<prometheus::MetricFamily> families;
    families.reserve(std::size(kFamilies) + 1);
    size_t index = 0;
    for (const FamilyDef& def : kFamilies) {
        prometheus::MetricFamily& family = families.emplace_back(make_family(def.name, def.help, def.type));
        family.metric.reserve(series_count(def));
        if (def.values.empty()) {
            add_sample(family, double(registry_.series(index++)));
            continue;
        }
        for (std::string_view value : def.values) {
            add_sample(family, double(registry_.series(index++)), {{std::string(def.label), std::string(value)}});
        }
    }
    prometheus::MetricFamily& build = families.emplace_back(make_family(kBuildInfoName, kBuildInfoHelp, Type::gauge));
    add_sample(build, 1, {{"version", build_.version}, {"role", build_.role}, {"mode", build_.mode}});
    return families;
}

}  // namespace porthop::metrics
