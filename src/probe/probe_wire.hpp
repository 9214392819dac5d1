#pragma once
// The probe's messages inside session mode's framing (docs/protocol.md,
// "Probe"): a datagram whose first byte is crypto::kProbeVersion, the same
// 17-byte header (probe id, counter) and tag, sealed with the probe's own
// keys. A client asks with a Request; the server answers with Data datagrams,
// at most at the rate and up to the total the request asked for.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/session_crypto.hpp"

namespace porthop::probe {

// Plaintext layouts, big endian.
//   Request: kind(1)=1, reserved(1), size(2), rate(4), total(8), time_ms(8)
//            then any padding (upstream filler, counted, ignored).
//   Data:    kind(1)=2, reserved(3), rate(4), sent(8), received(8)
//            then zero padding up to the requested size.
inline constexpr size_t kRequestSize = 24;
inline constexpr size_t kDataHeaderSize = 24;
inline constexpr uint8_t kKindRequest = 1;
inline constexpr uint8_t kKindData = 2;

struct Request {
    uint16_t size = 0;     // plaintext bytes per Data datagram wanted
    uint32_t rate = 0;     // bytes of Data a second wanted
    uint64_t total = 0;    // bytes of Data in all wanted for this probe id
    uint64_t time_ms = 0;  // the client's wall clock (freshness, see protocol.md)
};

struct Data {
    uint32_t rate = 0;      // the rate the server grants
    uint64_t sent = 0;      // Data bytes sent for this probe id, this datagram included
    uint64_t received = 0;  // Request bytes (framed) the server accepted for this probe id
};

// Writes a request into `out` (at least kRequestSize bytes; the rest is
// zeroed as padding); returns the bytes used (out.size()).
size_t write_request(std::span<std::byte> out, const Request& r);
// nullopt unless `plain` is a request of at least kRequestSize bytes.
std::optional<Request> read_request(std::span<const std::byte> plain);

size_t write_data(std::span<std::byte> out, const Data& d);
std::optional<Data> read_data(std::span<const std::byte> plain);

// Both ends' keys for one direction pair, derived from the pre-shared key.
struct ProbeKeys {
    explicit ProbeKeys(const crypto::Key& psk)
        : to_server(psk, crypto::Direction::upstream, crypto::Purpose::probe),
          to_client(psk, crypto::Direction::downstream, crypto::Purpose::probe) {}
    crypto::Cipher to_server;
    crypto::Cipher to_client;
};

}  // namespace porthop::probe
