#include "probe/probe_wire.hpp"

#include <algorithm>

namespace porthop::probe {

namespace {

void put(std::byte* p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v & 0xff);
        v >>= 8;
    }
}

uint64_t get(const std::byte* p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | std::to_integer<uint64_t>(p[i]);
    return v;
}

}  // namespace

size_t write_request(std::span<std::byte> out, const Request& r) {
    std::fill(out.begin(), out.end(), std::byte{0});
    out[0] = std::byte{kKindRequest};
    put(out.data() + 2, r.size, 2);
    put(out.data() + 4, r.rate, 4);
    put(out.data() + 8, r.total, 8);
    put(out.data() + 16, r.time_ms, 8);
    return out.size();
}

std::optional<Request> read_request(std::span<const std::byte> plain) {
    if (plain.size() < kRequestSize || std::to_integer<uint8_t>(plain[0]) != kKindRequest) return std::nullopt;
    Request r;
    r.size = static_cast<uint16_t>(get(plain.data() + 2, 2));
    r.rate = static_cast<uint32_t>(get(plain.data() + 4, 4));
    r.total = get(plain.data() + 8, 8);
    r.time_ms = get(plain.data() + 16, 8);
    return r;
}

size_t write_data(std::span<std::byte> out, const Data& d) {
    std::fill(out.begin(), out.end(), std::byte{0});
    out[0] = std::byte{kKindData};
    put(out.data() + 4, d.rate, 4);
    put(out.data() + 8, d.sent, 8);
    put(out.data() + 16, d.received, 8);
    return out.size();
}

std::optional<Data> read_data(std::span<const std::byte> plain) {
    if (plain.size() < kDataHeaderSize || std::to_integer<uint8_t>(plain[0]) != kKindData) return std::nullopt;
    Data d;
    d.rate = static_cast<uint32_t>(get(plain.data() + 4, 4));
    d.sent = get(plain.data() + 8, 8);
    d.received = get(plain.data() + 16, 8);
    return d;
}

}  // namespace porthop::probe
