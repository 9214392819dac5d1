#include "metrics/text_format.hpp"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <iterator>
#include <vector>

namespace porthop::metrics {

prometheus::MetricFamily make_family(std::string_view name, std::string_view help, Type type) {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = type == Type::counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
    return family;
}

void add_sample(prometheus::MetricFamily& family, double value, std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::ClientMetric& sample = family.metric.emplace_back();
    sample.label = std::move(labels);
    if (family.type == prometheus::MetricType::Counter) {
        sample.counter.value = value;
    } else {
        sample.gauge.value = value;
    }
}

std::string to_text(std::initializer_list<const prometheus::Collectable*> sources) {
    std::vector<prometheus::MetricFamily> families;
    for (const prometheus::Collectable* source : sources) {
        std::vector<prometheus::MetricFamily> collected = source->Collect();
        families.insert(families.end(), std::make_move_iterator(collected.begin()),
                        std::make_move_iterator(collected.end()));
    }
    return prometheus::TextSerializer().Serialize(families);
}

}  // namespace porthop::metrics
