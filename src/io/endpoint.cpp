#include "io/endpoint.hpp"

#include <utility>

namespace porthop::io {

Endpoint::Endpoint(EndpointContext& ctx, net::UdpSocket socket, metrics::Direction sends,
                   std::function<void()> on_readable, bool destinations, bool coalesce)
    : ctx_(ctx),
      socket_(std::move(socket)),
      sends_(sends),
      queue_(ctx.queue_capacity, ctx.budget),
      read_ev_(ctx.base, socket_.fd(), EV_READ | EV_PERSIST, [cb = std::move(on_readable)](short) { cb(); }),
      write_ev_(ctx.base, socket_.fd(), EV_WRITE | EV_PERSIST, [this](short) { on_writable(); }),
      destinations_(destinations),
      coalesce_(coalesce) {
    net::enable_receive_info(socket_, destinations);
    if (ctx_.gso) net::enable_offload(socket_, coalesce_);
    read_ev_.add();
    // Last: nothing after this may throw, or the list would keep a
    // pointer to an endpoint that was never constructed.
    next_ = std::exchange(ctx_.first, this);
    if (next_) next_->prev_ = this;
}

void count_kernel_drops(EndpointContext& ctx) {
    for (Endpoint* e = ctx.first; e != nullptr; e = e->next_) {
        if (e->received_) e->count_kernel_drops();
    }
}

void Endpoint::count_kernel_drops() {
    received_ = false;
    if (!socket_.is_open()) return;
    uint32_t drops = socket_.kernel_drops();
    // The kernel's counter is 32 bits and wraps; unsigned arithmetic gives
    // the increment across a wrap.
    if (drops != kernel_drops_) ctx_.metrics.drop(metrics::DropReason::rcvbuf_overflow, drops - kernel_drops_);
    kernel_drops_ = drops;
}

Endpoint::~Endpoint() {
    if (received_) count_kernel_drops();
    ctx_.metrics.sub(metrics::Family::send_queue_bytes, gauge_share_);
    (prev_ ? prev_->next_ : ctx_.first) = next_;
    if (next_) next_->prev_ = prev_;
}

void Endpoint::transmit(std::span<const net::OutDatagram> msgs) {
    if (msgs.empty()) return;
    if (!queue_.empty()) {
        // Older datagrams wait: keep the order, queue behind them.
        queue_rest(msgs);
        return;
    }
    net::SendResult r = net::send_batch(socket_, msgs);
    account(r);
    if (r.would_block) {
        queue_rest(msgs.subspan(r.consumed));
        write_ev_.add();
    }
}

void Endpoint::queue_rest(std::span<const net::OutDatagram> msgs) {
    size_t refused = 0;
    for (const auto& m : msgs) {
        if (!queue_.push(m)) refused += m.datagrams();
    }
    if (refused != 0) ctx_.metrics.drop(metrics::DropReason::queue_full, refused);
    sync_queue_gauge();
}

void Endpoint::on_writable() {
    net::SendResult r = queue_.flush(socket_);
    account(r);
    sync_queue_gauge();
    if (queue_.empty()) write_ev_.remove();
}

void Endpoint::account(const net::SendResult& r) {
    if (r.sent != 0) ctx_.metrics.relayed(sends_, r.sent, r.sent_bytes);
    if (r.failed != 0) ctx_.metrics.drop(metrics::DropReason::send_error, r.failed);
}

void Endpoint::drop_queue() {
    if (received_) count_kernel_drops();
    read_ev_.remove();
    write_ev_.remove();
    if (size_t dropped = queue_.clear()) ctx_.metrics.drop(metrics::DropReason::send_error, dropped);
    sync_queue_gauge();
    kernel_drops_ = 0;
}

void Endpoint::reseat(net::UdpSocket socket) {
    drop_queue();
    socket_ = std::move(socket);
    read_ev_.reassign(socket_.fd());
    write_ev_.reassign(socket_.fd());
    net::enable_receive_info(socket_, destinations_);
    if (ctx_.gso) net::enable_offload(socket_, coalesce_);
    read_ev_.add();
}

void Endpoint::close_socket() {
    drop_queue();
    socket_.close();
}

void Endpoint::sync_queue_gauge() {
    size_t now = queue_.payload_bytes();
    if (now >= gauge_share_) {
        ctx_.metrics.add(metrics::Family::send_queue_bytes, now - gauge_share_);
    } else {
        ctx_.metrics.sub(metrics::Family::send_queue_bytes, gauge_share_ - now);
    }
    gauge_share_ = now;
}

}  // namespace porthop::io
