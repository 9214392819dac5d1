// Specification of the value syntaxes of docs/design.md, "The contract":
// DURATION and PORTSET, and the names of roles and modes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/parse.hpp"

namespace porthop::config {
namespace {

using namespace std::chrono_literals;

// --- DURATION ---------------------------------------------------------------

struct DurationCase {
    const char* text;
    Duration expected;
};

TEST(DurationParse, AcceptsAWholeNumberWithUnitMsSMOrH) {
    const DurationCase cases[] = {
        {"250ms", 250ms}, {"0ms", 0ms},   {"10s", 10s}, {"0s", 0s},     {"2m", 2min},
        {"1h", 1h},       {"90m", 90min}, {"007s", 7s}, {"1000ms", 1s}, {"24h", 24h},
    };
    for (const auto& c : cases) {
        auto d = parse_duration(c.text);
        ASSERT_TRUE(d.has_value()) << c.text;
        EXPECT_EQ(*d, c.expected) << c.text;
    }
}

TEST(DurationParse, RejectsMissingUnitFractionsSignsSpacesAndUnknownUnits) {
    const char* cases[] = {"",   "10",   "s",    "ms", "1.5s", "-1s",  "+1s", " 1s",  "1s ",  "1 s",
                           "1S", "1sec", "1min", "1d", "1us",  "1h1m", "s1",  "0x1s", "1e3ms"};
    for (const char* text : cases) EXPECT_FALSE(parse_duration(text).has_value()) << '"' << text << '"';
}

TEST(DurationParse, RejectsValuesThatOverflowMilliseconds) {
    EXPECT_FALSE(parse_duration("99999999999999999999ms").has_value());
    EXPECT_FALSE(parse_duration("9223372036854775807s").has_value());
    EXPECT_FALSE(parse_duration("3000000000000000h").has_value());
    EXPECT_TRUE(parse_duration("9223372036854775807ms").has_value());
}

// --- PORTSET ----------------------------------------------------------------

std::vector<uint16_t> range(uint16_t first, uint16_t last) {
    std::vector<uint16_t> out;
    for (uint32_t p = first; p <= last; ++p) out.push_back(static_cast<uint16_t>(p));
    return out;
}

TEST(PortSetParse, AcceptsARange) {
    auto set = parse_port_set("20000-20999");
    ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->ports, range(20000, 20999));
    EXPECT_EQ(set->size(), 1000u);
}

TEST(PortSetParse, AcceptsACommaListOfPortsAndRanges) {
    auto set = parse_port_set("20000-20099,20500");
    ASSERT_TRUE(set.has_value());
    auto expected = range(20000, 20099);
    expected.push_back(20500);
    EXPECT_EQ(set->ports, expected);
}

TEST(PortSetParse, AcceptsTheExtremePortsAndSingleElementRanges) {
    EXPECT_EQ(parse_port_set("1")->ports, std::vector<uint16_t>{1});
    EXPECT_EQ(parse_port_set("65535")->ports, std::vector<uint16_t>{65535});
    EXPECT_EQ(parse_port_set("7-7")->ports, std::vector<uint16_t>{7});
    EXPECT_EQ(parse_port_set("1-65535")->size(), 65535u);
}

TEST(PortSetParse, SortsAndMergesDuplicatesAndOverlaps) {
    auto set = parse_port_set("30,10-12,11,12-13,30,5");
    ASSERT_TRUE(set.has_value());
    EXPECT_EQ(set->ports, (std::vector<uint16_t>{5, 10, 11, 12, 13, 30}));
}

TEST(PortSetParse, RejectsEmptyReversedOutOfRangeNonNumericCommasAndWhitespace) {
    const char* cases[] = {"",
                           ",",
                           "20000,",
                           ",20000",
                           "1,,2",
                           "20999-20000",
                           "0",
                           "0-10",
                           "65536",
                           "1-65536",
                           "a-b",
                           "a",
                           "1-",
                           "-1",
                           "1-2-3",
                           "1 ,2",
                           " 1",
                           "1 ",
                           "1- 2",
                           "+1",
                           "1.5",
                           "99999999999999999999",
                           "20000:20999",
                           "1;2",
                           "-"};
    for (const char* text : cases) EXPECT_FALSE(parse_port_set(text).has_value()) << '"' << text << '"';
}

TEST(PortSet, ContainsExactlyItsPorts) {
    auto set = *parse_port_set("100-102,200");
    for (uint16_t p : {100, 101, 102, 200}) EXPECT_TRUE(set.contains(p)) << p;
    for (uint16_t p : {0, 99, 103, 199, 201, 65535}) EXPECT_FALSE(set.contains(p)) << p;
}

TEST(PortSet, ToStringFoldsRunsIntoRangesCanonically) {
    const std::pair<const char*, const char*> cases[] = {
        {"20000-20999", "20000-20999"},
        {"20000-20099,20500", "20000-20099,20500"},
        {"5,3,4,1", "1,3-5"},
        {"10-20,15-25", "10-25"},
        {"7", "7"},
        {"7-8", "7-8"},
        {"1-65535", "1-65535"},
    };
    for (const auto& [text, canonical] : cases) EXPECT_EQ(parse_port_set(text)->to_string(), canonical) << text;
}

TEST(PortSet, ToStringOfAnEmptySetIsEmpty) { EXPECT_EQ(PortSet{}.to_string(), ""); }

TEST(PortSet, ToStringParsesBackToTheSameSet) {
    auto set = *parse_port_set("1,3,5-9,11,65534-65535");
    EXPECT_EQ(parse_port_set(set.to_string())->ports, set.ports);
}

// --- names ------------------------------------------------------------------

TEST(ConfigNames, RoleAndModeNamesAreTheCommandLineWords) {
    EXPECT_STREQ(to_string(Role::client), "client");
    EXPECT_STREQ(to_string(Role::server), "server");
    EXPECT_STREQ(to_string(Mode::plain), "plain");
    EXPECT_STREQ(to_string(Mode::session), "session");
}

}  // namespace
}  // namespace porthop::config
