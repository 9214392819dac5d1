// PORTSET and DURATION: config::parse_port_set and config::parse_duration,
// the first input byte choosing which. Besides "no crash", checks what the
// rest of porthop relies on: a parsed port set is sorted, distinct, non-empty,
// has no port 0, and reads back the same from its canonical text; a duration
// is never negative.
#include <cstdint>
#include <string_view>

#include "config/parse.hpp"
#include "fuzz_common.hpp"

using namespace porthop;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    if (data[0] & 1) {
        auto set = config::parse_port_set(text);
        if (!set) return 0;
        FUZZ_CHECK(!set->ports.empty());
        for (size_t i = 0; i < set->ports.size(); ++i) {
            FUZZ_CHECK(set->ports[i] != 0);
            if (i > 0) FUZZ_CHECK(set->ports[i - 1] < set->ports[i]);
            FUZZ_CHECK(set->contains(set->ports[i]));
        }
        std::string canonical = set->to_string();
        auto again = config::parse_port_set(canonical);
        FUZZ_CHECK(again.has_value());
        FUZZ_CHECK(again->ports == set->ports);
        FUZZ_CHECK(again->to_string() == canonical);
    } else {
        auto d = config::parse_duration(text);
        if (!d) return 0;
        FUZZ_CHECK(d->count() >= 0);
    }
    return 0;
}
