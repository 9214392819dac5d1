#include "loop/mailbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace porthop::loop {

namespace {
int make_eventfd() {
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("cannot create an eventfd: ") + std::strerror(errno));
    return fd;
}
}  // namespace

Mailbox::Mailbox(event_base& base)
    : fd_(make_eventfd()),
      readable_(base, fd_, EV_READ | EV_PERSIST, [this](short) { drain(); }) {
    readable_.add();
}

Mailbox::~Mailbox() {
    readable_.remove();
    ::close(fd_);
}

void Mailbox::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    uint64_t one = 1;
    // Only fails when the counter would overflow: the loop is woken anyway.
    (void)!::write(fd_, &one, sizeof one);
}

void Mailbox::drain() {
    uint64_t count = 0;
    (void)!::read(fd_, &count, sizeof count);
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard lock(mutex_);
        tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
}

}  // namespace porthop::loop
