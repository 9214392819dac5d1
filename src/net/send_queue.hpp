#pragma once
// Datagrams that the kernel refused with EAGAIN, kept in order until the
// socket is writable again. Each queue is a byte ring of fixed capacity,
// allocated when a datagram first has to wait and freed when the queue drains,
// so only congested sockets hold memory. Every ring is charged to one
// QueueBudget: memory is bounded per socket and in total, whatever the
// traffic.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "net/batch_io.hpp"

namespace porthop::net {

class QueueBudget {
public:
    explicit QueueBudget(size_t limit_bytes) : limit_(limit_bytes) {}
    bool reserve(size_t n) {
        if (used_ + n > limit_) return false;
        used_ += n;
        return true;
    }
    void release(size_t n) { used_ -= n; }
    size_t used() const { return used_; }
    size_t limit() const { return limit_; }

private:
    size_t limit_;
    size_t used_ = 0;
};

class SendQueue {
public:
    SendQueue(size_t capacity_bytes, QueueBudget& budget);
    ~SendQueue();
    SendQueue(const SendQueue&) = delete;
    SendQueue& operator=(const SendQueue&) = delete;

    // Copies the datagram in; false (nothing stored) when this queue or the
    // budget is full.
    bool push(const OutDatagram& d);
    // Sends queued datagrams, oldest first, until empty or EAGAIN; drops
    // those the kernel refuses for good (counted in the result).
    SendResult flush(UdpSocket& socket);

    // Drops everything queued (the socket is going away); returns how many
    // datagrams were dropped (a coalesced one counts its segments).
    size_t clear();

    bool empty() const { return count_ == 0; }
    size_t packets() const { return count_; }
    size_t payload_bytes() const { return payload_bytes_; }

private:
    struct Record;
    static size_t record_size(uint32_t payload);
    Record* at(size_t offset) const;
    void pop_front();

    size_t capacity_;
    QueueBudget& budget_;
    std::unique_ptr<std::byte[]> ring_;
    size_t head_ = 0;  // first record
    size_t tail_ = 0;  // where the next record goes
    size_t end_ = 0;   // when wrapped: where the records before offset 0 end
    bool wrapped_ = false;
    size_t count_ = 0;
    size_t payload_bytes_ = 0;
};

}  // namespace porthop::net
