#pragma once
// A port set for the hop tests: n consecutive ports from `first`.

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

namespace porthop::relay {
inline std::vector<uint16_t> port_range(uint16_t first, size_t n) {
    std::vector<uint16_t> ports(n);
    std::iota(ports.begin(), ports.end(), first);
    return ports;
}
}  // namespace porthop::relay
