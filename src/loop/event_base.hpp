#pragma once
// RAII owners for libevent objects. The one event base is created in main and
// passed down by reference; nothing here is global.

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>

namespace porthop::loop {

struct EventBaseDeleter {
    void operator()(event_base* b) const { event_base_free(b); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;

EventBasePtr make_event_base();

// One libevent event (fd readiness, timer or signal) with a std::function
// callback. Not movable: libevent keeps a pointer to it.
class Event {
public:
    using Callback = std::function<void(short what)>;

    // fd < 0 with EV_TIMEOUT: a timer; EV_SIGNAL with a signal number as fd.
    Event(event_base& base, int fd, short what, Callback cb);
    ~Event();
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    void add();                                   // no timeout
    void add(std::chrono::microseconds timeout);  // timer, or fd with timeout
    void remove();
    bool pending() const;
    // Points the (removed) event at another descriptor; allocates nothing.
    void reassign(int fd);

private:
    static void trampoline(evutil_socket_t, short what, void* self);
    Callback cb_;
    event* ev_ = nullptr;
};

}  // namespace porthop::loop
