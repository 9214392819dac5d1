#include "service/notify.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>

#ifdef PORTHOP_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace porthop::service {

SystemdNotifier::SystemdNotifier(event_base& base, Healthy healthy, StatusText status)
    : healthy_(std::move(healthy)),
      status_(std::move(status)),
      timer_(base, -1, EV_TIMEOUT | EV_PERSIST, [this](short) { ping(); }) {
#ifdef PORTHOP_HAVE_SYSTEMD
    const char* socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket != nullptr && socket[0] != '\0';
    uint64_t usec = 0;
    if (active_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        period_ = std::chrono::microseconds(usec / 2);
    }
#endif
}

void SystemdNotifier::send([[maybe_unused]] const std::string& state) {
    if (!active_) return;
#ifdef PORTHOP_HAVE_SYSTEMD
    int rc = sd_notify(0, state.c_str());
    if (rc < 0) spdlog::debug("sd_notify: {}", std::strerror(-rc));
#endif
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

void SystemdNotifier::reloading() {
    send("RELOADING=1");
}

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
