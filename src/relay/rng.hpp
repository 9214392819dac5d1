#pragma once
// A small, fast generator for hop timing and port choice. Seeded from the
// kernel; not for secrets (session mode's keys come from libsodium).

#include <sys/random.h>

#include <cstdint>

namespace porthop::relay {

class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    static Rng from_kernel() {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = 0x9e3779b97f4a7c15ull;
        return Rng(seed);
    }

    // splitmix64
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, bound); bound > 0. Lemire's multiply-shift: bias below
    // 2^-32 for the bounds used here (port counts, milliseconds).
    uint64_t below(uint64_t bound) {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
    }

private:
    uint64_t state_;
};

}  // namespace porthop::relay
