#pragma once
// Plain mode's answer to a silent application after a stall hop. The server
// relay replies through the port that last heard from the session, so until
// the application sends again its replies still go into the dead port; a
// download-only QUIC client that waits for data sends nothing, and the
// connection hangs (docs/design.md, "Lab facts"). The session therefore keeps
// a copy of a recent small upstream datagram (one copy per kCopyEvery at most,
// never per packet) and sends it once more right after a stall hop: a
// duplicate, which UDP allows and QUIC discards, that moves the server relay's
// return path to the new port. Session mode sends a keepalive instead.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "io/clock.hpp"

namespace porthop::relay {

class HopNudge {
public:
    // QUIC ACK-only packets fit; bigger datagrams are not kept.
    static constexpr size_t kMax = 256;
    static constexpr Duration kCopyEvery{100};

    void offer(TimePoint now, std::span<const std::byte> datagram) {
        if (datagram.empty() || datagram.size() > kMax || (size_ != 0 && now - copied_at_ < kCopyEvery)) return;
        std::copy(datagram.begin(), datagram.end(), buf_.begin());
        size_ = static_cast<uint16_t>(datagram.size());
        copied_at_ = now;
    }
    std::span<const std::byte> datagram() const { return {buf_.data(), size_}; }

private:
    std::array<std::byte, kMax> buf_{};
    uint16_t size_ = 0;
    TimePoint copied_at_;
};

}  // namespace porthop::relay
