#pragma once
// A relay's view of one UDP socket: its read and write events, its send
// queue, and the accounting of everything it sends. Sending goes straight to
// the kernel while nothing waits; on EAGAIN the rest is queued (in order) and
// the write event is armed until the queue drains, so a full socket never
// makes the loop spin.

#include <event2/event.h>

#include <functional>
#include <span>

#include "loop/event_base.hpp"
#include "metrics/registry.hpp"
#include "net/batch_io.hpp"
#include "net/send_queue.hpp"
#include "net/udp_socket.hpp"

namespace porthop::io {

class Endpoint;

// What every endpoint of one relay shares.
struct EndpointContext {
    event_base& base;
    metrics::Registry& metrics;
    net::QueueBudget& budget;
    size_t queue_capacity;
    // GSO on every socket where the kernel has it (and GRO on those that
    // ask for it).
    bool gso = false;
    // Every open endpoint (an intrusive list: opening a session allocates
    // nothing for it), for count_kernel_drops.
    Endpoint* first = nullptr;
};

// Counts, for every endpoint that received since the last call, what the
// kernel dropped on its socket for a full receive buffer (rcvbuf_overflow).
// A system call per such socket: the relay's periodic sweep calls it, so
// the datagram path asks the kernel for no drop count at all.
void count_kernel_drops(EndpointContext& ctx);

class Endpoint {
public:
    // `sends` is the direction of the traffic this socket sends, for the
    // packet and byte counters. `destinations`: report the local address of
    // each received datagram (for a socket bound to a wildcard address).
    // `coalesce`: the owner can take coalesced receives (GRO): it forwards
    // them whole or opens each segment in place.
    Endpoint(EndpointContext& ctx, net::UdpSocket socket, metrics::Direction sends, std::function<void()> on_readable,
             bool destinations = false, bool coalesce = false);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    const net::UdpSocket& socket() const { return socket_; }
    // Sends that bypass the queue (a keepalive) need it writable: a failed
    // GSO send turns GSO off on the socket.
    net::UdpSocket& socket() { return socket_; }
    net::RecvBatch::Result receive(net::RecvBatch& batch) {
        received_ = true;
        return batch.receive(socket_);
    }
    void transmit(std::span<const net::OutDatagram> msgs);
    size_t queued_bytes() const { return queue_.payload_bytes(); }

    // Session mode's source-port hop: closes the current socket (dropping
    // what waits in its queue, counted as send_error) and carries on with
    // `socket`, same callbacks. Allocates nothing.
    void reseat(net::UdpSocket socket);
    // Closes the socket (same accounting); the endpoint stays idle until
    // reseated.
    void close_socket();
    bool is_open() const { return socket_.is_open(); }

private:
    friend void count_kernel_drops(EndpointContext& ctx);
    void count_kernel_drops();
    void on_writable();
    void account(const net::SendResult& r);
    void queue_rest(std::span<const net::OutDatagram> msgs);
    void sync_queue_gauge();
    void drop_queue();

    EndpointContext& ctx_;
    net::UdpSocket socket_;
    metrics::Direction sends_;
    net::SendQueue queue_;
    size_t gauge_share_ = 0;     // this queue's bytes in porthop_send_queue_bytes
    uint32_t kernel_drops_ = 0;  // the socket's kernel drop count already counted
    bool received_ = false;      // since the last count_kernel_drops
    Endpoint* prev_ = nullptr;   // EndpointContext::first's list
    Endpoint* next_ = nullptr;
    loop::Event read_ev_;
    loop::Event write_ev_;
    bool destinations_;
    bool coalesce_;
};

}  // namespace porthop::io
