#include "relay/batch_groups.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

using porthop::relay::for_each_group;

TEST(BatchGroups, GroupsByOwnerKeepingArrivalOrderAndSkippingDrops) {
    int a = 0, b = 0;
    std::vector<int*> owners{&a, &b, nullptr, &a, &b, &a};
    std::vector<std::pair<int*, std::vector<size_t>>> groups;
    for_each_group(std::span<int* const>(owners), [&](int& owner, std::span<const size_t> idx) {
        groups.emplace_back(&owner, std::vector<size_t>(idx.begin(), idx.end()));
    });
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].first, &a);
    EXPECT_EQ(groups[0].second, (std::vector<size_t>{0, 3, 5}));
    EXPECT_EQ(groups[1].first, &b);
    EXPECT_EQ(groups[1].second, (std::vector<size_t>{1, 4}));
}
