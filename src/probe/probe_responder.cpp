#include "probe/probe_responder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "net/mtu.hpp"

namespace porthop::probe {

using metrics::DropReason;

ProbeResponder::ProbeResponder(event_base& base, metrics::Registry& metrics, const crypto::Key& psk, uint32_t mtu,
                               const std::vector<std::unique_ptr<io::Endpoint>>& listeners, ProbeCaps caps)
    : metrics_(metrics),
      keys_(psk),
      mtu_(mtu),
      listeners_(listeners),
      caps_(caps),
      probes_(caps.max_probes),
      out_(std::make_unique<std::byte[]>(net::kBatchSize * kMaxReplyDatagram)),
      timer_(base, -1, 0, [this](short) { on_timer(); }) {}

size_t ProbeResponder::active() const {
    return static_cast<size_t>(std::count_if(probes_.begin(), probes_.end(), [](const Probe& p) { return p.used; }));
}

ProbeResponder::Probe* ProbeResponder::find(uint64_t id) {
    for (Probe& p : probes_) {
        if (p.used && p.id == id) return &p;
    }
    return nullptr;
}

bool ProbeResponder::remembered(uint64_t id, TimePoint now) const {
    return std::any_of(closed_.begin(), closed_.end(),
                       [&](const Closed& c) { return c.valid && c.id == id && now - c.at < kRemember; });
}

ProbeResponder::Probe* ProbeResponder::open(uint64_t id, TimePoint now) {
    // Every probe open now will need a place in the ring of closed ids
    // when it closes; ring entries younger than kRemember cannot be reused.
    size_t young = static_cast<size_t>(std::count_if(
        closed_.begin(), closed_.end(), [&](const Closed& c) { return c.valid && now - c.at < kRemember; }));
    if (young + active() >= kClosedRing) return nullptr;
    for (Probe& p : probes_) {
        if (!p.used) {
            p = Probe{};
            p.used = true;
            p.id = id;
            return &p;
        }
    }
    return nullptr;
}

void ProbeResponder::close(Probe& p, TimePoint now) {
    auto oldest = std::min_element(closed_.begin(), closed_.end(), [](const Closed& a, const Closed& b) {
        return !a.valid ? b.valid || a.at < b.at : b.valid && a.at < b.at;
    });
    *oldest = Closed{p.id, now, true};
    spdlog::debug("probe {:016x} closed after {} bytes", p.id, p.budget.sent());
    p.used = false;
}

void ProbeResponder::on_datagram(std::span<std::byte> datagram, const net::Address& source, const net::Address& local,
                                 size_t listener, TimePoint now) {
    auto header = crypto::parse_header(datagram, crypto::kProbeVersion);
    if (!header) {
        metrics_.drop(DropReason::malformed);
        return;
    }
    Probe* p = find(header->session_id);
    if (p != nullptr && !p->window.check(header->counter)) {
        metrics_.drop(DropReason::replay);
        return;
    }
    auto plain = keys_.to_server.open(datagram, *header);
    if (!plain) {
        metrics_.drop(DropReason::auth);
        return;
    }
    auto request = probe::read_request(*plain);
    if (!request) {
        metrics_.drop(DropReason::malformed);
        return;
    }
    if (p == nullptr) {
        // A new probe id: its request must be recent by the wall clock and
        // its id unused, or it could be an old request played back.
        auto wall = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
        uint64_t skew_ms = request->time_ms > wall ? request->time_ms - wall : wall - request->time_ms;
        if (skew_ms > static_cast<uint64_t>(std::chrono::milliseconds(kFreshness).count()) ||
            remembered(header->session_id, now)) {
            metrics_.drop(DropReason::replay);
            return;
        }
        if ((p = open(header->session_id, now)) == nullptr) {
            metrics_.drop(DropReason::session_limit);
            return;
        }
        spdlog::debug("probe {:016x} from {}: {} B/s, {} B", p->id, source.to_string(), request->rate, request->total);
    }
    p->window.accept(header->counter);
    p->peer = source;
    p->local = local;
    p->listener = listener;
    p->received += datagram.size();
    p->budget.ask(*request, std::min(kMaxReplyDatagram, net::max_udp_payload(mtu_, source)), now, caps_);
    arm();
}

void ProbeResponder::arm() {
    if (!timer_.pending()) timer_.add(std::chrono::duration_cast<std::chrono::microseconds>(kTick));
}

void ProbeResponder::on_timer() {
    TimePoint now = Clock::now();
    bool any = false;
    for (Probe& p : probes_) {
        if (!p.used) continue;
        if (!p.budget.live(now)) {
            close(p, now);
            continue;
        }
        send(p, now);
        any = true;
    }
    if (any) arm();
}

void ProbeResponder::send(Probe& p, TimePoint now) {
    size_t n = std::min(p.budget.datagrams(now), net::kBatchSize);
    if (n == 0) return;
    if (listeners_.empty() || p.listener >= listeners_.size()) return;  // shutting down
    io::Endpoint& out = *listeners_[p.listener];
    if (out.queued_bytes() != 0) {
        // The socket is congested: relayed traffic waits there already.
        metrics_.drop(DropReason::queue_full, n);
        p.budget.forfeit();
        return;
    }
    const size_t size = p.budget.size();
    const size_t plain_len = size - crypto::kOverhead;
    std::array<net::OutDatagram, net::kBatchSize> batch;
    for (size_t i = 0; i < n; ++i) {
        std::byte* plain = out_.get() + i * kMaxReplyDatagram + crypto::kHeaderSize;
        probe::write_data({plain, plain_len}, {p.budget.rate(), p.budget.sent() + (i + 1) * size, p.received});
        auto framed = keys_.to_client.seal(plain, plain_len, p.id, p.counter++, crypto::kProbeVersion);
        batch[i] = net::OutDatagram::make(framed, &p.peer, &p.local);
    }
    p.budget.spend(n);
    out.transmit(std::span(batch.data(), n));
}

}  // namespace porthop::probe
