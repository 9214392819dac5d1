#pragma once
// A client relay session's paths (--paths N, docs/design.md, "Paths"): N
// concurrent flows to N different ports of the set, so an ISP that caps every
// flow's rate gives the session N caps. Each path hops on its own schedule,
// its first deadline staggered by interval/N, so paths never hop together
// and the session never loses all its flows at once. Sends go round robin,
// one batch at a time (a batch is one burst of the application, kept on one
// path so it is not reordered within itself). A path that sent but heard
// nothing while the others did is stalled: the relay hops it (replace, not
// wait). Path 0 is the session's main path: the adaptive triggers and the
// keepalives of a quiet session use it first.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "io/clock.hpp"
#include "io/endpoint.hpp"
#include "net/address.hpp"
#include "relay/hop_schedule.hpp"
#include "relay/rng.hpp"

namespace porthop::relay {

struct Path {
    Path(const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint start, TimePoint now,
         const net::Address& server, HopMemory* memory)
        : hop(policy, ports, rng, start, memory),
          target(server),
          last_sent(now),
          last_reply(now) {
        target.set_port(hop.port());
    }
    HopSchedule hop;
    net::Address target;  // server relay address, port = this path's current hop
    // `up[current]` sends; the other one, if open, is the previous hop's
    // socket (source-port hops only), kept until previous_until. Without
    // source-port hops every path sends through path 0's up[0]: one source
    // address, N destination ports (the plain server keys sessions by source).
    std::array<std::unique_ptr<io::Endpoint>, 2> up;
    uint8_t current = 0;
    TimePoint previous_until;
    TimePoint last_sent;
    TimePoint last_reply;  // last datagram from this path's port (or its start)
};

class PathSet {
public:
    // A path that sent within this long and heard nothing for as long, while
    // another path heard something within kStallPeer, is stalled.
    static constexpr Duration kStall{2'000};
    static constexpr Duration kStallPeer{500};

    // n >= 1 paths, on distinct ports when the set has at least n; memory:
    // the relay's (HopSchedule), or null.
    PathSet(size_t n, const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now,
            const net::Address& server, HopMemory* memory = nullptr);

    size_t size() const { return paths_.size(); }
    Path& operator[](size_t i) { return paths_[i]; }
    const Path& operator[](size_t i) const { return paths_[i]; }
    Path& main() { return paths_.front(); }
    const Path& main() const { return paths_.front(); }
    auto begin() { return paths_.begin(); }
    auto end() { return paths_.end(); }
    auto begin() const { return paths_.begin(); }
    auto end() const { return paths_.end(); }

    // The path for the next batch: round robin.
    size_t next() {
        size_t i = next_;
        next_ = (next_ + 1) % paths_.size();
        return i;
    }

    // After path i hopped: off any port another path is on (a few redraws;
    // a set smaller than the paths must share), and its target follows.
    void hopped(size_t i, TimePoint now);

    // The path whose current port is `port`, if any.
    std::optional<size_t> find_port(uint16_t port) const;

    // A stalled path (see kStall), if any; `stall`: the session's own
    // threshold, when longer.
    std::optional<size_t> stalled(TimePoint now, Duration stall) const;

    // Every path's current port, path 0 first.
    std::vector<uint16_t> ports() const;

private:
    bool shared(size_t i) const;

    std::vector<Path> paths_;
    size_t next_ = 0;
};

}  // namespace porthop::relay
