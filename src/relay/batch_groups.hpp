#pragma once
// Splits a received batch by owner (session) so that each owner's datagrams
// leave in one sendmmsg, in the order they arrived. Fixed-size, no
// allocation; n <= kBatchSize.

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>

#include "net/batch_io.hpp"

namespace porthop::relay {

// owners[i] == nullptr: datagram i was dropped. fn(owner, indices) is called
// once per distinct owner, owners in first-seen order, indices ascending.
template <typename Owner, typename Fn>
void for_each_group(std::span<Owner* const> owners, Fn&& fn) {
    std::array<bool, net::kBatchSize> done{};
    std::array<size_t, net::kBatchSize> indices;
    for (size_t i = 0; i < owners.size(); ++i) {
        if (done[i] || owners[i] == nullptr) continue;
        size_t n = 0;
        for (size_t j = i; j < owners.size(); ++j) {
            if (!done[j] && owners[j] == owners[i]) {
                done[j] = true;
                indices[n++] = j;
            }
        }
        fn(*owners[i], std::span<const size_t>(indices.data(), n));
    }
}

}  // namespace porthop::relay

namespace porthop::relay {

// Calls fn(datagram) for each datagram that entry i of `batch` holds: the
// entry as it came when `whole_runs` (a GRO run stays one unit, sent on as
// one), else each segment of a coalesced run on its own, in place.
template <bool whole_runs, typename Fn>
void for_each_datagram(net::RecvBatch& batch, size_t i, Fn&& fn) {
    std::span<std::byte> p = batch.payload(i);
    size_t segment = batch.segment_size(i);
    if (whole_runs || segment == 0 || p.size() <= segment) {
        fn(p);
        return;
    }
    for (size_t at = 0; at < p.size(); at += segment) fn(p.subspan(at, std::min(segment, p.size() - at)));
}

// Collects the datagrams for one sender and hands them over kBatchSize at a
// time (a GRO receive opened segment by segment holds more than a batch).
// out_ is left uninitialised: an Outbox lives on the stack of every wake-up.
template <typename Sender>
class Outbox {
public:
    explicit Outbox(Sender& to) : to_(to) {}
    ~Outbox() { flush(); }
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;
    void push(const net::OutDatagram& d) {
        out_[n_++] = d;
        if (n_ == out_.size()) flush();
    }
    void flush() {
        if (n_ != 0) to_.transmit(std::span<const net::OutDatagram>(out_.data(), n_));
        n_ = 0;
    }

private:
    Sender& to_;
    size_t n_ = 0;
    std::array<net::OutDatagram, net::kBatchSize> out_;
};

// An Outbox over several senders (the server relay's listeners, one per
// path of a session): each datagram leaves through the sender chosen by the
// latest via(); at a flush, one send per sender, each sender's datagrams in
// their order (the order between paths is theirs to lose anyway).
template <typename Sender>
class SpreadOutbox {
public:
    explicit SpreadOutbox(std::span<const std::unique_ptr<Sender>> to)
        : to_(to),
          via_(to.empty() ? nullptr : to[0].get()) {}
    ~SpreadOutbox() { flush(); }
    SpreadOutbox(const SpreadOutbox&) = delete;
    SpreadOutbox& operator=(const SpreadOutbox&) = delete;
    void via(size_t sender) { via_ = to_[sender].get(); }
    void push(const net::OutDatagram& d) {
        out_[n_] = d;
        senders_[n_++] = via_;
        if (n_ == out_.size()) flush();
    }
    void flush() {
        std::span<Sender* const> via(senders_.data(), n_);
        if (n_ != 0 && std::all_of(via.begin(), via.end(), [&](const Sender* v) { return v == via[0]; })) {
            via[0]->transmit(std::span<const net::OutDatagram>(out_.data(), n_));
        } else if (n_ != 0) {
            std::array<net::OutDatagram, net::kBatchSize> group;
            for_each_group(via, [&](Sender& to, std::span<const size_t> indices) {
                size_t n = 0;
                for (size_t i : indices) group[n++] = out_[i];
                to.transmit(std::span<const net::OutDatagram>(group.data(), n));
            });
        }
        n_ = 0;
    }

private:
    std::span<const std::unique_ptr<Sender>> to_;
    Sender* via_ = nullptr;
    size_t n_ = 0;
    std::array<net::OutDatagram, net::kBatchSize> out_;
    std::array<Sender*, net::kBatchSize> senders_;
};

}  // namespace porthop::relay
