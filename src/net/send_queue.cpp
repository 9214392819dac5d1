#include "net/send_queue.hpp"

#include <netinet/in.h>

#include <array>
#include <cstring>

namespace porthop::net {

struct SendQueue::Record {
    uint32_t size;
    uint32_t segment;  // OutDatagram::segment
    socklen_t to_len;
    sockaddr_in6 to;    // large enough for either family
    sockaddr_in6 from;  // family AF_UNSPEC: no source address chosen
};

namespace {
constexpr size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }
}  // namespace

SendQueue::SendQueue(size_t capacity_bytes, QueueBudget& budget) : capacity_(capacity_bytes), budget_(budget) {}

SendQueue::~SendQueue() {
    if (ring_) budget_.release(capacity_);
}

size_t SendQueue::record_size(uint32_t payload) { return align8(sizeof(Record)) + align8(payload); }

SendQueue::Record* SendQueue::at(size_t offset) const { return reinterpret_cast<Record*>(ring_.get() + offset); }

bool SendQueue::push(const OutDatagram& d) {
    size_t need = record_size(d.size);
    if (need > capacity_ || d.to_len > sizeof(sockaddr_in6)) return false;

    size_t offset;
    if (!wrapped_) {
        if (tail_ + need <= capacity_) {
            offset = tail_;
        } else if (need <= head_) {
            offset = 0;  // wrap: records now run [head_, end_) then [0, tail_)
        } else {
            return false;
        }
    } else {
        if (tail_ + need > head_) return false;
        offset = tail_;
    }
    if (!ring_) {
        if (!budget_.reserve(capacity_)) return false;
        ring_ = std::make_unique_for_overwrite<std::byte[]>(capacity_);
    }

    if (!wrapped_ && offset == 0 && count_ > 0) {
        end_ = tail_;
        wrapped_ = true;
    }
    Record* r = at(offset);
    r->size = d.size;
    r->segment = d.segment;
    r->to_len = d.to_len;
    if (d.to_len > 0) std::memcpy(&r->to, d.to, d.to_len);
    r->from.sin6_family = AF_UNSPEC;
    if (d.from != nullptr) {
        std::memcpy(&r->from, d.from, d.from->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    }
    std::memcpy(ring_.get() + offset + align8(sizeof(Record)), d.data, d.size);
    tail_ = offset + need;
    ++count_;
    payload_bytes_ += d.size;
    return true;
}

void SendQueue::pop_front() {
    Record* r = at(head_);
    payload_bytes_ -= r->size;
    head_ += record_size(r->size);
    --count_;
    if (count_ == 0) {
        head_ = tail_ = end_ = 0;
        wrapped_ = false;
    } else if (wrapped_ && head_ == end_) {
        head_ = 0;
        wrapped_ = false;
    }
}

size_t SendQueue::clear() {
    size_t dropped = 0;
    while (count_ > 0) {
        const Record* r = at(head_);
        dropped += OutDatagram{nullptr, r->size, nullptr, 0, nullptr, r->segment}.datagrams();
        pop_front();
    }
    if (ring_) {
        ring_.reset();
        budget_.release(capacity_);
    }
    return dropped;
}

SendResult SendQueue::flush(UdpSocket& socket) {
    SendResult total;
    std::array<OutDatagram, kBatchSize> batch;
    while (count_ > 0) {
        size_t n = 0;
        size_t offset = head_;
        bool in_wrap = wrapped_;
        while (n < batch.size() && n < count_) {
            if (in_wrap && offset == end_) {
                offset = 0;
                in_wrap = false;
            }
            Record* r = at(offset);
            batch[n++] = {ring_.get() + offset + align8(sizeof(Record)),
                          r->size,
                          r->to_len ? reinterpret_cast<const sockaddr*>(&r->to) : nullptr,
                          r->to_len,
                          r->from.sin6_family != AF_UNSPEC ? reinterpret_cast<const sockaddr*>(&r->from) : nullptr,
                          r->segment};
            offset += record_size(r->size);
        }
        SendResult res = send_batch(socket, std::span(batch.data(), n));
        for (size_t i = 0; i < res.consumed; ++i) pop_front();
        total.sent += res.sent;
        total.sent_bytes += res.sent_bytes;
        total.failed += res.failed;
        if (res.last_error != 0) total.last_error = res.last_error;
        if (res.would_block) {
            total.would_block = true;
            return total;
        }
    }
    // Drained: give the ring back so that an idle socket holds nothing.
    if (ring_) {
        ring_.reset();
        budget_.release(capacity_);
    }
    return total;
}

}  // namespace porthop::net
