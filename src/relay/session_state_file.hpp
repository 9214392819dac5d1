#pragma once
// A relay's sessions, saved to a small JSON file (--state-file) so that a
// relay restarted after a crash takes its sessions back at once, on the same
// local ports: the far end (the QUIC server behind the server relay, the
// server relay behind the client relay) keeps sending to the 4-tuple it knows,
// and the new process relays it. Without this, a download-only QUIC client
// (which sends nothing until data arrives) and a QUIC server (which keeps
// sending to the dead port) wait for each other until the connection times
// out (docs/reliability.md). Keys are never written here.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "io/clock.hpp"
#include "net/address.hpp"

namespace porthop::relay {

struct SavedSession {
    // Server relay: the client relay's address; client relay: the application's.
    net::Address peer;
    uint16_t upstream_port = 0;  // local port of the session's socket towards the upstream / the server relay
    size_t listener = 0;         // server relay: index of the listening socket that last heard from peer
    net::Address local;          // the local IP peer wrote to, or empty
    uint16_t server_port = 0;    // client relay: the port of the set the session sends to
    // Session mode (0 in plain mode).
    uint64_t id = 0;
    uint64_t send_next = 0;    // the first send counter a restarted relay may use
    uint64_t recv_newest = 0;  // the newest counter accepted from the other relay
};

// What a state file belongs to: a file written by another role or mode is
// not taken back. `generation` counts the starts that used this file
// (session mode: new server sessions start their counters from it).
struct StateFile {
    std::string role;  // "client" | "server"
    std::string mode;  // "plain" | "session"
    uint64_t generation = 0;
    std::vector<SavedSession> sessions;
};

// The relays write the file at most this often for new sessions and for
// counters near their margin (a flood of new sessions, or a disk that
// refuses writes, costs at most ten writes a second): the margin of 2^20
// lasts seconds even at a million datagrams a second.
inline constexpr Duration kStateSaveGap{100};

// Writes `state` as JSON to PATH.tmp, then renames it over PATH, so that a
// crash mid-write leaves the previous file whole. Returns false with errno
// set on failure.
bool write_state_file(const std::string& path, const StateFile& state);

// What write_state_file wrote, if `text` is a state file of `role` and
// `mode` saved less than `max_age` before `now` (wall clock). A session
// that does not parse is skipped; anything else wrong (not JSON, another
// role, mode or format, stale) is no state, with `why` saying what it was.
// Never throws: the text may be anything.
StateFile parse_state_file(std::string_view text, const std::string& role, const std::string& mode,
                           std::chrono::system_clock::time_point now, Duration max_age, std::string& why);

// Reads and parses `path`; a missing, stale or corrupt file is a warning
// (logged) and no sessions: a fresh start, never fatal.
StateFile read_state_file(const std::string& path, const std::string& role, const std::string& mode, Duration max_age);

// A relay's restore loop: `restore(saved)` takes one session back (false:
// skipped, e.g. the table is full); a session whose socket cannot be opened
// or bound again (net::NetError: its port taken meanwhile) is a warning, the
// others come back. Logs how many did.
void restore_sessions(const std::vector<SavedSession>& sessions, const std::string& path,
                      const std::function<bool(const SavedSession&)>& restore);

}  // namespace porthop::relay
