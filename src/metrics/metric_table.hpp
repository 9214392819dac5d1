#pragma once
// The one declaration of every porthop metric (docs/design.md, "Metrics"): name,
// help, type and label. The registry's storage and the text exposition are
// both derived from kFamilies; adding a metric means adding a row here.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "net/direction.hpp"

namespace porthop::metrics {

enum class Type : uint8_t { counter, gauge };

// Label values, in the order of their name arrays below.
using Direction = net::Direction;
enum class DropReason : uint8_t {
    queue_full,
    foreign_source,
    no_session,
    auth,
    send_error,
    oversize,
    session_limit,
    malformed,
    rcvbuf_overflow,
    replay,
    reassembly_timeout,
    reassembly_full,
    bad_piece,
    count_
};
enum class CloseReason : uint8_t { idle, error, shutdown, evicted, count_ };
enum class HopReason : uint8_t { interval, bytes, stall, slowdown, learned, count_ };

inline constexpr std::string_view kDirectionNames[] = {"upstream", "downstream"};
inline constexpr std::string_view kDropReasonNames[] = {
    "queue_full",    "foreign_source", "no_session",      "auth",   "send_error",         "oversize",
    "session_limit", "malformed",      "rcvbuf_overflow", "replay", "reassembly_timeout", "reassembly_full",
    "bad_piece"};
inline constexpr std::string_view kCloseReasonNames[] = {"idle", "error", "shutdown", "evicted"};
inline constexpr std::string_view kHopReasonNames[] = {"interval", "bytes", "stall", "slowdown", "learned"};

static_assert(std::size(kDirectionNames) == size_t(Direction::count_));
static_assert(std::size(kDropReasonNames) == size_t(DropReason::count_));
static_assert(std::size(kCloseReasonNames) == size_t(CloseReason::count_));
static_assert(std::size(kHopReasonNames) == size_t(HopReason::count_));

enum class Family : uint8_t {
    packets,
    bytes,
    dropped,
    sessions,
    sessions_opened,
    sessions_closed,
    hops,
    send_queue_bytes,
    pieces,
    paths,
    count_
};

struct FamilyDef {
    std::string_view name;
    std::string_view help;
    Type type;
    std::string_view label;                    // empty: no label, one series
    std::span<const std::string_view> values;  // one series per value
};

inline constexpr FamilyDef kFamilies[] = {
    {"porthop_packets_total", "Datagrams relayed, by direction (upstream: towards the QUIC server).", Type::counter,
     "direction", kDirectionNames},
    {"porthop_bytes_total", "Payload bytes relayed, by direction (upstream: towards the QUIC server).", Type::counter,
     "direction", kDirectionNames},
    {"porthop_dropped_packets_total", "Datagrams dropped, by reason.", Type::counter, "reason", kDropReasonNames},
    {"porthop_sessions", "Sessions currently open.", Type::gauge, "", {}},
    {"porthop_sessions_opened_total", "Sessions opened since start.", Type::counter, "", {}},
    {"porthop_sessions_closed_total", "Sessions closed since start, by reason.", Type::counter, "reason",
     kCloseReasonNames},
    {"porthop_hops_total", "Port hops taken, by reason.", Type::counter, "reason", kHopReasonNames},
    {"porthop_send_queue_bytes", "Bytes waiting in user-space send queues for a writable socket.", Type::gauge, "", {}},
    {"porthop_pieces_total",
     "Session mode: pieces of datagrams too large for --mtu, by direction (upstream: towards the QUIC server); "
     "each is also one datagram in porthop_packets_total on the side that sends it.",
     Type::counter, "direction", kDirectionNames},
    {"porthop_paths",
     "Flows in use by the open sessions: --paths per session on the client relay; on the server relay, the "
     "(port, source) pairs that heard from a session within the last second.",
     Type::gauge,
     "",
     {}},
};
static_assert(std::size(kFamilies) == size_t(Family::count_));

// porthop_build_info is a constant 1 whose labels are known only at start-up;
// the exposition writes it from BuildInfo, not from the registry.
inline constexpr std::string_view kBuildInfoName = "porthop_build_info";
inline constexpr std::string_view kBuildInfoHelp = "Always 1; labels tell the version, role and mode of this relay.";

// porthop_worker_sessions: the porthop_sessions gauge of each worker of a
// server relay (--workers), labelled by the worker's index. Its series are
// the workers' own registries' sessions gauges, so the exposition writes it
// from them; one series per worker, known only at start-up.
inline constexpr std::string_view kWorkerSessionsName = "porthop_worker_sessions";
inline constexpr std::string_view kWorkerSessionsHelp =
    "Sessions currently open on each worker thread of the server relay (--workers).";
inline constexpr std::string_view kWorkerLabel = "worker";

constexpr size_t series_count(const FamilyDef& f) { return f.values.empty() ? 1 : f.values.size(); }

constexpr size_t series_offset(Family family) {
    size_t offset = 0;
    for (size_t i = 0; i < size_t(family); ++i) offset += series_count(kFamilies[i]);
    return offset;
}

inline constexpr size_t kSeriesCount = series_offset(Family::count_);

}  // namespace porthop::metrics
