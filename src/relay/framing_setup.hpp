#pragma once
// What a relay hands its framing (PlainFraming, SessionFraming) at start.

#include <memory>
#include <vector>

#include "config/options.hpp"
#include "crypto/session_crypto.hpp"
#include "io/clock.hpp"
#include "io/endpoint.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"

namespace porthop::relay {

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
