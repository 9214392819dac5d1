#pragma once
// The server relay's side of `porthop probe` (docs/protocol.md, "Probe"):
// answers authenticated probe requests with paced filler datagrams. It can
// never amplify a spoofed source: nothing is sent without a request sealed
// with the pre-shared key, a replayed request buys nothing (replay window
// per probe, wall-clock freshness and remembered ids once a probe closed),
// and what is sent is bounded by the request (rate, total) and by hard caps
// (ProbeCaps). A fixed table of probes and one preallocated output buffer:
// nothing is allocated per datagram. Sending runs from a timer, batched
// through the listening socket's ordinary send path; a socket that still has
// a queue gets nothing more (a counted queue_full drop), so probes never
// stall the loop or crowd out relayed traffic.

#include <array>
#include <memory>
#include <span>
#include <vector>

#include "crypto/session_crypto.hpp"
#include "io/clock.hpp"
#include "io/endpoint.hpp"
#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/address.hpp"
#include "probe/probe_budget.hpp"
#include "probe/probe_wire.hpp"

namespace porthop::probe {

class ProbeResponder {
public:
    // `listeners`: the relay's listening sockets (replies leave through the
    // one that received the probe's latest request); may become empty at
    // shutdown.
    ProbeResponder(event_base& base, metrics::Registry& metrics, const crypto::Key& psk, uint32_t mtu,
                   const std::vector<std::unique_ptr<io::Endpoint>>& listeners, ProbeCaps caps = {});

    // A datagram whose first byte is crypto::kProbeVersion, received on
    // listener `listener` from `source` (sent to `local` for a wildcard
    // listener, else empty).
    void on_datagram(std::span<std::byte> datagram, const net::Address& source, const net::Address& local,
                     size_t listener, TimePoint now);

    size_t active() const;
    // Allowed clock difference between a new probe's request and this host.
    static constexpr std::chrono::seconds kFreshness{30};

private:
    struct Probe {
        bool used = false;
        uint64_t id = 0;
        net::Address peer;
        net::Address local;
        size_t listener = 0;
        crypto::ReplayWindow window;
        uint64_t counter = 0;   // server -> client
        uint64_t received = 0;  // framed request bytes accepted
        probe::ProbeBudget budget;
    };
    struct Closed {
        uint64_t id = 0;
        TimePoint at{};
        bool valid = false;
    };
    // Ids of closed probes are remembered this long (2 x kFreshness): a
    // replayed request is either stale or finds its id here.
    static constexpr std::chrono::seconds kRemember{60};
    static constexpr size_t kClosedRing = 256;
    // Probe datagrams are at most this big whatever the MTU: the output
    // buffer is kBatchSize of them.
    static constexpr size_t kMaxReplyDatagram = 1500;
    static constexpr std::chrono::milliseconds kTick{5};

    Probe* find(uint64_t id);
    Probe* open(uint64_t id, TimePoint now);
    bool remembered(uint64_t id, TimePoint now) const;
    void close(Probe& p, TimePoint now);
    void on_timer();
    void send(Probe& p, TimePoint now);
    void arm();

    metrics::Registry& metrics_;
    probe::ProbeKeys keys_;
    uint32_t mtu_;
    const std::vector<std::unique_ptr<io::Endpoint>>& listeners_;
    ProbeCaps caps_;
    std::vector<Probe> probes_;  // caps.max_probes slots, sized once
    std::array<Closed, kClosedRing> closed_{};
    std::unique_ptr<std::byte[]> out_;  // kBatchSize slots of kMaxReplyDatagram
    loop::Event timer_;
};

}  // namespace porthop::probe
