#pragma once
// What a framing (PlainFraming, SessionFraming) is told at start, and what
// it tells the relays at compile time besides how it seals and opens.

#include <memory>
#include <vector>

#include "config/options.hpp"
#include "crypto/session_crypto.hpp"
#include "io/clock.hpp"
#include "io/endpoint.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"

namespace porthop::relay {

struct FramingTraits {
    const char* name;
    // A GRO run leaves as it came (one GSO send), never split; else each
    // segment of it is opened on its own, in place.
    bool whole_runs;
    // GRO on the sockets that receive plaintext (the client relay's
    // downstream socket, the server relay's upstream sockets), and on those
    // that receive framed datagrams (the client's upstream sockets, the
    // server's listeners).
    bool coalesce_plain;
    bool coalesce_framed;
    // The client relay moves to a fresh source port at every hop, keeping
    // the previous socket open for --hop-grace.
    bool hop_source_port;
    // Keepalives (authenticated empty datagrams) tell the server relay where
    // a quiet session is; else an empty datagram is relayed like any other,
    // and after a stall hop the client resends the last datagram (HopNudge).
    bool keepalive;
    // The relays keep their sessions in --state-file across restarts.
    bool state_file;
};

struct FramingSetup {
    event_base& base;
    metrics::Registry& metrics;
    const config::Options& options;
    // The pre-shared key (session mode only).
    const crypto::Key* psk = nullptr;
    // The server relay's listening sockets (a session-mode server answers
    // probes through them); null for the client relay.
    const std::vector<std::unique_ptr<io::Endpoint>>* listeners = nullptr;
};

}  // namespace porthop::relay
