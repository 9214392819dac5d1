#pragma once
// The validated run-time options of one porthop process: what the command line
// and the JSON config file (docs/design.md, "The contract") boil down to.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "net/ports.hpp"

namespace porthop::config {

using Duration = std::chrono::milliseconds;

enum class Role { client, server };
enum class Mode { plain, session };

const char* to_string(Role role);
const char* to_string(Mode mode);

// A sorted set of distinct UDP ports, as given by "20000-20999" or
// "20000-20099,20500".
using PortSet = net::PortSet;

// --workers' upper bound: a reuseport group holds at most 65535 sockets, and
// far fewer threads than that are useful.
inline constexpr uint32_t kMaxWorkers = 256;
// --paths: 16 flows carry 16x a per-flow cap (64 Mbit/s at 4 Mbit/s each);
// more buy little and cost the server relay a longer scan per datagram.
inline constexpr uint32_t kMaxPaths = 16;

struct Options {
    Role role = Role::client;

    // client: --listen ADDR:PORT (the downstream socket)
    net::Address listen;
    // server: --listen ADDR:PORTSET (the IP part; ports in listen_ports)
    net::Address listen_ip;
    PortSet listen_ports;

    // client: --server HOST:PORTSET, HOST resolved at start (port left 0)
    net::Address server_ip;
    PortSet server_ports;

    // server: --upstream HOST:PORT, resolved at start
    net::Address upstream;
    // both relays: --state-file PATH: sessions saved there, taken back on
    // restart (both modes); empty: off.
    std::string state_file;

    // server: --workers N|auto, threads each with its own loop, sockets and
    // sessions; 0: auto (one per CPU the process may use), resolved at start.
    uint32_t workers = 1;

    std::optional<net::Address> metrics;  // --metrics ADDR:PORT
    Duration idle_timeout{60'000};
    Mode mode = Mode::plain;
    std::string psk_file;
    std::string log_level = "info";  // trace|debug|info|warn|error|critical|off
    std::string config_file;         // --config, re-read on SIGHUP

    // client hop schedule
    Duration hop_interval{10'000};
    Duration hop_jitter{2'000};  // default: 20% of hop_interval
    uint64_t hop_bytes = 0;      // 0: off
    Duration hop_on_stall{0};    // 0: off
    bool hop_on_slowdown = false;
    // session mode: how long the socket of the previous hop stays open for
    // late replies after the session moved to a fresh source port.
    Duration hop_grace{3'000};
    // concurrent flows per session, each to its own port of the set (--paths)
    uint32_t paths = 1;

    // session mode: the path MTU the framed datagrams must fit (IP and UDP
    // headers included); a datagram that would not is dropped (oversize).
    uint32_t mtu = 1500;

    uint32_t max_sessions = 4096;
    // New sessions a second from one source IP (a flood from one host cannot
    // fill the table); 0: no limit.
    uint32_t new_session_rate = 20;
    // Kernel socket buffer sizes in bytes (SO_SNDBUF / SO_RCVBUF); 0 keeps the
    // system default. The default is large because a QUIC sender bursts a
    // whole congestion window at once, and the system's 208 KiB holds fewer
    // than 100 full-size datagrams: the kernel would drop the rest. Only
    // bytes actually queued cost memory.
    uint32_t sndbuf = 4 << 20;
    uint32_t rcvbuf = 4 << 20;
    // UDP segmentation offload (net/offload.hpp) where the kernel has it.
    bool offload = true;
};

// `porthop probe` (docs/protocol.md, "Probe"): measures whether the path to
// a server relay throttles long UDP flows.
struct ProbeOptions {
    net::Address server_ip;  // --server HOST:PORTSET, resolved at start
    PortSet server_ports;
    std::string psk_file;
    Duration duration{60'000};
    uint32_t rate = 1'000'000;  // bytes/s of the faster long flow and of each fresh flow (8 Mbit/s)
    bool json = false;
    std::string log_level = "warn";
};

// `porthop status`: asks a running relay for its sessions (GET /sessions on
// its --metrics address) and prints them.
struct StatusOptions {
    net::Address metrics;  // --metrics ADDR:PORT
    bool json = false;
};

}  // namespace porthop::config
