#pragma once
// The server relay's sessions, saved to a small text file so that a relay
// restarted after a crash can take its sessions back at once: each session's
// upstream socket is bound again to the same local port, so the QUIC server's
// next datagram (a retransmission to the address it knows) reaches the new
// process, which relays it to the same peer. Without this, a download-only
// QUIC client (which sends nothing until data arrives) and a QUIC server
// (which keeps sending to the dead port) wait for each other until the
// connection times out.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/address.hpp"

namespace porthop::relay {

struct SavedSession {
    net::Address peer;
    uint16_t upstream_port = 0;  // local port of the session's socket to the upstream
    size_t listener = 0;         // index of the listening socket that last heard from peer
    net::Address local;          // the local IP peer wrote to, or empty
};

// One line a session: "PEER UPSTREAM_PORT LISTENER LOCAL_IP|-", after a
// version line. Written to PATH.tmp, then renamed over PATH, so a crash
// mid-write leaves the previous file whole. Returns false with errno set on
// failure.
bool write_session_state(const std::string& path, const std::vector<SavedSession>& sessions);

// Reads what write_session_state wrote; a missing file is no sessions, a line
// that does not parse is skipped (a state file is a hint, never fatal).
std::vector<SavedSession> read_session_state(const std::string& path);

}  // namespace porthop::relay
