// Specification of the one parser of ports and port sets (net/ports.hpp):
// what it accepts, and why it refuses the rest.
#include <gtest/gtest.h>

#include "net/ports.hpp"

namespace porthop::net {
namespace {

using Reason = PortSetError::Reason;

TEST(NetPorts, APortIsDigitsOnlyFrom1To65535) {
    EXPECT_EQ(parse_port("1"), 1);
    EXPECT_EQ(parse_port("65535"), 65535);
    EXPECT_EQ(parse_port("020000"), 20000);
    for (const char* bad : {"", "0", "65536", "+1", "-1", " 1", "1 ", "0x10", "1e3", "99999999999999999999"}) {
        EXPECT_FALSE(parse_port(bad)) << '"' << bad << '"';
    }
}

TEST(NetPorts, APortSetFoldsRangesAndListsIntoSortedDistinctPorts) {
    auto parsed = parse_port_set("20500,20000-20002,20001");
    ASSERT_TRUE(parsed.set);
    EXPECT_FALSE(parsed.error);
    EXPECT_EQ(parsed.set->ports, (std::vector<uint16_t>{20000, 20001, 20002, 20500}));
    EXPECT_EQ(parsed.set->to_string(), "20000-20002,20500");
}

TEST(NetPorts, ARefusedPortSetSaysWhyAndWhere) {
    const struct {
        const char* text;
        Reason reason;
        const char* item;
    } cases[] = {
        {"", Reason::empty, ""},
        {"1,,2", Reason::empty_item, "1,,2"},
        {"x,,2", Reason::empty_item, "x,,2"},
        {",1", Reason::empty_item, ",1"},
        {"20000,http", Reason::bad_port, "http"},
        {"1,0", Reason::bad_port, "0"},
        {"1-2-3", Reason::bad_range, "1-2-3"},
        {"20000-70000", Reason::bad_range, "20000-70000"},
        {"5,20-10", Reason::reversed_range, "20-10"},
    };
    for (const auto& c : cases) {
        auto parsed = parse_port_set(c.text);
        EXPECT_FALSE(parsed.set) << c.text;
        ASSERT_TRUE(parsed.error) << c.text;
        EXPECT_EQ(parsed.error->reason, c.reason) << c.text;
        EXPECT_EQ(parsed.error->item, c.item) << c.text;
    }
}

}  // namespace
}  // namespace porthop::net
