#pragma once
// `porthop probe`, the measuring side (docs/protocol.md, "Probe"): runs two
// long flows against a server relay (at --rate R and at R/4, each its own
// socket and a random port of the set, for the whole --duration) and, side
// by side, short fresh flows (a new socket and a random port each) started
// at intervals. Each flow keeps asking the server for filler at its rate;
// what arrives is sampled every kSampleInterval into rate series for
// rate_analysis. Progress goes to the given stream once a second.

#include <cstdio>
#include <string>
#include <vector>

#include "config/options.hpp"
#include "crypto/session_crypto.hpp"
#include "probe/rate_analysis.hpp"

namespace porthop::probe {

inline constexpr std::chrono::milliseconds kSampleInterval{250};
inline constexpr std::chrono::milliseconds kRequestInterval{100};
inline constexpr std::chrono::milliseconds kFreshEvery{2000};
inline constexpr std::chrono::milliseconds kFreshLife{1000};
// Without a single answer by then the probe gives up.
inline constexpr std::chrono::milliseconds kNoAnswerTimeout{5000};
// Framed size of the server's filler datagrams, and of the requests (the
// upstream traffic the probe measures: small, so that a throttled upstream
// still carries them).
inline constexpr size_t kDataDatagram = 1200;
inline constexpr size_t kRequestDatagram = 200;

struct FlowResult {
    std::string label;   // "long", "long/4", "fresh"
    uint16_t port = 0;   // server port
    double start_s = 0;  // since the probe started
    FlowSeries series;
    uint64_t down_bytes = 0;       // framed bytes received
    uint64_t up_bytes = 0;         // framed bytes sent
    uint64_t server_received = 0;  // of up_bytes, what the server reported receiving
};

struct ProbeResult {
    FlowResult fast;
    FlowResult slow;
    std::vector<FlowResult> fresh;
    double elapsed_s = 0;
    uint64_t received_bytes = 0;  // all flows, authenticated answers only
    uint64_t rejected = 0;        // datagrams that did not verify
    bool answered = false;        // the server answered at all
};

// Runs the probe for options.duration (or until kNoAnswerTimeout without an
// answer). Throws net::NetError when a socket cannot be opened.
ProbeResult run_probe(const config::ProbeOptions& options, const crypto::Key& psk, std::FILE* progress);

}  // namespace porthop::probe
