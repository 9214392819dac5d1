#pragma once
// Work handed to a loop that runs on another thread: post() may be called
// from any thread; the tasks run on the loop's own thread, in order. The
// base itself is never touched by the posting thread (libevent runs without
// its locking), only an eventfd the loop watches and a mutex-guarded queue.

#include <functional>
#include <mutex>
#include <vector>

#include "loop/event_base.hpp"

namespace porthop::loop {

class Mailbox {
public:
    explicit Mailbox(event_base& base);
    ~Mailbox();
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    void post(std::function<void()> task);

private:
    void drain();

    int fd_ = -1;
    std::mutex mutex_;
    std::vector<std::function<void()>> tasks_;
    Event readable_;
};

}  // namespace porthop::loop
