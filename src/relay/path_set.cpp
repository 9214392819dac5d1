#include "relay/path_set.hpp"

#include <algorithm>

namespace porthop::relay {

namespace {
// Redraws that move a path off a port another path is on: with a set of at
// least 2N ports the chance that all of them collide is below 2^-8.
constexpr int kRedraws = 8;
}  // namespace

PathSet::PathSet(size_t n, const HopPolicy& policy, std::span<const uint16_t> ports, Rng& rng, TimePoint now,
                 const net::Address& server, HopMemory* memory) {
    paths_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        // Path i's schedule started i/n of an interval ago: its deadlines
        // stay that far apart from the others' (plus each path's jitter).
        TimePoint start = now - policy.interval * static_cast<int64_t>(i) / static_cast<int64_t>(n);
        paths_.emplace_back(policy, ports, rng, start, now, server, memory);
        for (int k = 0; k < kRedraws && shared(i); ++k) paths_[i].hop.hop(start);
        paths_[i].target.set_port(paths_[i].hop.port());
    }
}

bool PathSet::shared(size_t i) const {
    uint16_t port = paths_[i].hop.port();
    for (size_t k = 0; k < paths_.size(); ++k) {
        if (k != i && paths_[k].hop.port() == port) return true;
    }
    return false;
}

void PathSet::hopped(size_t i, TimePoint now) {
    Path& p = paths_[i];
    for (int k = 0; k < kRedraws && shared(i); ++k) p.hop.hop(now);
    p.target.set_port(p.hop.port());
    p.last_reply = now;  // a new port has not had the time to answer yet
}

std::optional<size_t> PathSet::find_port(uint16_t port) const {
    for (size_t i = 0; i < paths_.size(); ++i) {
        if (paths_[i].hop.port() == port) return i;
    }
    return std::nullopt;
}

std::optional<size_t> PathSet::stalled(TimePoint now, Duration stall) const {
    if (paths_.size() < 2) return std::nullopt;
    Duration wait = std::max(stall, kStall);
    bool others_heard = false;
    for (const Path& p : paths_) others_heard = others_heard || now - p.last_reply < kStallPeer;
    if (!others_heard) return std::nullopt;  // the whole session is quiet or stalled: the adaptive triggers' case
    for (size_t i = 0; i < paths_.size(); ++i) {
        const Path& p = paths_[i];
        if (now - p.last_reply >= wait && now - p.last_sent < wait && now - p.hop.hopped_at() >= wait) return i;
    }
    return std::nullopt;
}

std::vector<uint16_t> PathSet::ports() const {
    std::vector<uint16_t> out;
    out.reserve(paths_.size());
    for (const Path& p : paths_) out.push_back(p.hop.port());
    return out;
}

}  // namespace porthop::relay
