#include "service/notify.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

#ifdef PORTHOP_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#endif

namespace porthop::service {

#ifndef PORTHOP_HAVE_SYSTEMD
namespace {

// Builds without libsystemd speak the protocol themselves (sd_notify(3)):
// one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("@..." is the
// abstract namespace). libsystemd costs about 1 MiB of RSS in the libraries
// it pulls in (libgcrypt, liblzma, libzstd, liblz4, libcap).
int sd_notify(int /*unset_environment*/, const char* state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') return 0;
    if (path[0] != '/' && path[0] != '@') return -EAFNOSUPPORT;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    const size_t len = std::strlen(path);
    if (len >= sizeof sa.sun_path) return -EINVAL;
    std::memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = '\0';
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const auto salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    ssize_t sent = ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&sa), salen);
    int rc = sent < 0 ? -errno : 1;
    ::close(fd);
    return rc;
}

// WATCHDOG_USEC, if WATCHDOG_PID is unset or this process (sd_watchdog_enabled(3)).
int sd_watchdog_enabled(int /*unset_environment*/, uint64_t* usec) {
    const char* text = std::getenv("WATCHDOG_USEC");
    if (text == nullptr) return 0;
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value == 0) return -EINVAL;
    if (const char* pid = std::getenv("WATCHDOG_PID")) {
        long long p = std::strtoll(pid, &end, 10);
        if (end == pid || *end != '\0' || p != static_cast<long long>(::getpid())) return 0;
    }
    *usec = value;
    return 1;
}

}  // namespace
#endif

SystemdNotifier::SystemdNotifier(event_base& base, Healthy healthy, StatusText status)
    : healthy_(std::move(healthy)),
      status_(std::move(status)),
      timer_(base, -1, EV_TIMEOUT | EV_PERSIST, [this](short) { ping(); }) {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket != nullptr && socket[0] != '\0';
    uint64_t usec = 0;
    if (active_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        period_ = std::chrono::microseconds(usec / 2);
    }
}

void SystemdNotifier::send(const std::string& state) {
    if (!active_) return;
    int rc = sd_notify(0, state.c_str());
    if (rc < 0) spdlog::debug("sd_notify: {}", std::strerror(-rc));
}

void SystemdNotifier::ready() {
    std::string state = "READY=1";
    if (status_) state += "\nSTATUS=" + status_();
    send(state);
    if (period_.count() > 0 && !timer_.pending()) {
        timer_.add(period_);
        spdlog::info("systemd watchdog: pinging every {} ms while healthy", period_.count() / 1000);
    }
}

void SystemdNotifier::reloading() { send("RELOADING=1"); }

void SystemdNotifier::stopping() {
    timer_.remove();
    send("STOPPING=1");
}

void SystemdNotifier::ping() {
    if (healthy_ && !healthy_()) {
        // No ping: systemd restarts the service when WatchdogSec= passes.
        spdlog::warn("systemd watchdog: relay unhealthy, not pinging");
        return;
    }
    std::string state = "WATCHDOG=1";
    if (status_) state += "\nSTATUS=" + status_();
    send(state);
}

}  // namespace porthop::service
