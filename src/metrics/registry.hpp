#pragma once
// Fixed storage for every series of kFamilies: the hot path updates a metric
// with one array index computed at compile time, no lookup, no allocation.

#include <array>
#include <cstdint>

#include "metrics/metric_table.hpp"

namespace porthop::metrics {

class Registry {
public:
    // Families without a label.
    void add(Family f, uint64_t n = 1) { values_[series_offset(f)] += n; }
    void set(Family f, uint64_t v) { values_[series_offset(f)] = v; }
    void sub(Family f, uint64_t n = 1) { values_[series_offset(f)] -= n; }
    uint64_t get(Family f) const { return values_[series_offset(f)]; }

    // Families with a label; Label is the enum of that family's values.
    template <typename Label>
    void add(Family f, Label label, uint64_t n = 1) {
        values_[series_offset(f) + size_t(label)] += n;
    }
    template <typename Label>
    uint64_t get(Family f, Label label) const {
        return values_[series_offset(f) + size_t(label)];
    }

    // Shorthands for the busiest updates.
    void drop(DropReason r, uint64_t n = 1) { add(Family::dropped, r, n); }
    void relayed(Direction d, uint64_t packets, uint64_t bytes) {
        add(Family::packets, d, packets);
        add(Family::bytes, d, bytes);
    }

    // Raw access by series index, for the exposition.
    uint64_t series(size_t index) const { return values_[index]; }

private:
    std::array<uint64_t, kSeriesCount> values_{};
};

}  // namespace porthop::metrics
