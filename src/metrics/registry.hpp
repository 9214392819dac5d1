#pragma once
// Fixed storage for every series of kFamilies: the hot path updates a metric
// with one array index computed at compile time, no lookup, no allocation.
// One thread writes a registry (its relay's loop; with --workers, each
// worker has its own); a scrape may read it from another thread. Relaxed
// atomic loads and stores (plain moves on x86 and arm64, no locked
// read-modify-write) keep that free of data races at no cost to the writer.

#include <array>
#include <atomic>
#include <cstdint>

#include "metrics/metric_table.hpp"

namespace porthop::metrics {

class Registry {
public:
    // Families without a label.
    void add(Family f, uint64_t n = 1) { store(series_offset(f), load(series_offset(f)) + n); }
    void set(Family f, uint64_t v) { store(series_offset(f), v); }
    void sub(Family f, uint64_t n = 1) { store(series_offset(f), load(series_offset(f)) - n); }
    uint64_t get(Family f) const { return load(series_offset(f)); }

    // Families with a label; Label is the enum of that family's values.
    template <typename Label>
    void add(Family f, Label label, uint64_t n = 1) {
        size_t i = series_offset(f) + size_t(label);
        store(i, load(i) + n);
    }
    template <typename Label>
    uint64_t get(Family f, Label label) const {
        return load(series_offset(f) + size_t(label));
    }

    // Shorthands for the busiest updates.
    void drop(DropReason r, uint64_t n = 1) { add(Family::dropped, r, n); }
    void relayed(Direction d, uint64_t packets, uint64_t bytes) {
        add(Family::packets, d, packets);
        add(Family::bytes, d, bytes);
    }

    // Raw access by series index, for the exposition.
    uint64_t series(size_t index) const { return load(index); }

private:
    using Ref = std::atomic_ref<uint64_t>;
    uint64_t load(size_t i) const { return Ref(const_cast<uint64_t&>(values_[i])).load(std::memory_order_relaxed); }
    void store(size_t i, uint64_t v) { Ref(values_[i]).store(v, std::memory_order_relaxed); }

    alignas(Ref::required_alignment) std::array<uint64_t, kSeriesCount> values_{};
};

}  // namespace porthop::metrics
