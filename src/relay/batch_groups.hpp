#pragma once
// Splits a received batch by owner (session) so that each owner's datagrams
// leave in one sendmmsg, in the order they arrived. Fixed-size, no
// allocation; n <= kBatchSize.

#include <array>
#include <cstddef>
#include <span>

#include "net/batch_io.hpp"

namespace porthop::relay {

// owners[i] == nullptr: datagram i was dropped. fn(owner, indices) is called
// once per distinct owner, owners in first-seen order, indices ascending.
template <typename Owner, typename Fn>
void for_each_group(std::span<Owner* const> owners, Fn&& fn) {
    std::array<bool, net::kBatchSize> done{};
    std::array<size_t, net::kBatchSize> indices;
    for (size_t i = 0; i < owners.size(); ++i) {
        if (done[i] || owners[i] == nullptr) continue;
        size_t n = 0;
        for (size_t j = i; j < owners.size(); ++j) {
            if (!done[j] && owners[j] == owners[i]) {
                done[j] = true;
                indices[n++] = j;
            }
        }
        fn(*owners[i], std::span<const size_t>(indices.data(), n));
    }
}

}  // namespace porthop::relay
