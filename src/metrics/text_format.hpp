#pragma once
// The /metrics body: the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), written by
// prometheus-cpp's TextSerializer from what the collectables return, in their
// order. Per scrape only.

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_table.hpp"

namespace prometheus {
class Collectable;
}

namespace porthop::metrics {

// The content type of what to_text produces.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// A family with no sample yet, named and typed as given.
prometheus::MetricFamily make_family(std::string_view name, std::string_view help, Type type);
// Appends one sample to `family`: its counter or gauge value, per its type.
void add_sample(prometheus::MetricFamily& family, double value,
                std::vector<prometheus::ClientMetric::Label> labels = {});

std::string to_text(std::initializer_list<const prometheus::Collectable*> sources);

}  // namespace porthop::metrics
