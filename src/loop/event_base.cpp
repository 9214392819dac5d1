#include "loop/event_base.hpp"

#include <stdexcept>

namespace porthop::loop {

EventBasePtr make_event_base() {
    EventBasePtr base(event_base_new());
    if (!base) throw std::runtime_error("cannot create the libevent event base");
    return base;
}

Event::Event(event_base& base, int fd, short what, Callback cb) : cb_(std::move(cb)) {
    ev_ = event_new(&base, fd, what, &Event::trampoline, this);
    if (ev_ == nullptr) throw std::runtime_error("cannot create a libevent event");
}

Event::~Event() {
    if (ev_ != nullptr) event_free(ev_);
}

void Event::add() { event_add(ev_, nullptr); }

void Event::add(std::chrono::microseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000);
    tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1'000'000);
    event_add(ev_, &tv);
}

void Event::remove() { event_del(ev_); }

bool Event::pending() const { return event_pending(ev_, EV_READ | EV_WRITE | EV_TIMEOUT | EV_SIGNAL, nullptr) != 0; }

void Event::reassign(int fd) {
    event_base* base = event_get_base(ev_);
    short what = event_get_events(ev_);
    event_del(ev_);
    event_assign(ev_, base, fd, what, &Event::trampoline, this);
}

void Event::trampoline(evutil_socket_t, short what, void* self) { static_cast<Event*>(self)->cb_(what); }

}  // namespace porthop::loop
