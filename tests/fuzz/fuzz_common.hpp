#pragma once
// Shared by every porthop fuzz target: process set-up and a reader that turns
// the fuzzer's bytes into decisions.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

namespace porthop_fuzz {

// Once per process (from LLVMFuzzerInitialize): logging goes to a null sink
// at trace level (every message is still formatted), stdin reads EOF, DNS is
// never asked (getaddrinfo is replaced: names fail at once, see
// fuzz_common.cpp).
void setup();

// Aborts with a message: an invariant of porthop does not hold.
[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "porthop fuzz: invariant failed at %s:%d: %s\n", file, line, what);
    std::abort();
}
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::porthop_fuzz::invariant_failed(#cond, __FILE__, __LINE__))

// Consumes the input from the front; reads past the end give zeros.
class Reader {
public:
    Reader(const uint8_t* data, size_t size) : p_(data), n_(size) {}
    bool empty() const { return n_ == 0; }
    size_t left() const { return n_; }
    uint8_t u8() {
        if (n_ == 0) return 0;
        --n_;
        return *p_++;
    }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
    std::span<const uint8_t> take(size_t k) {
        k = std::min(k, n_);
        std::span<const uint8_t> out(p_, k);
        p_ += k;
        n_ -= k;
        return out;
    }
    std::span<const uint8_t> rest() { return take(n_); }

private:
    const uint8_t* p_;
    size_t n_;
};

}  // namespace porthop_fuzz
