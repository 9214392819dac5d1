#pragma once
// sd_notify(3) for the systemd units (Type=notify, WatchdogSec=): readiness,
// reload and stop notifications, a status line, and watchdog pings from a
// timer on the relay's own loop, sent only while the relay is healthy, so a
// stalled loop or lost listening sockets get the service restarted.
//
// A no-op when the process was not started by systemd (no NOTIFY_SOCKET).
// With PORTHOP_HAVE_SYSTEMD it calls libsystemd; without, it speaks the
// (stable, documented) datagram protocol itself.

#include <chrono>
#include <functional>
#include <string>

#include "loop/event_base.hpp"

namespace porthop::service {

class SystemdNotifier {
public:
    using Healthy = std::function<bool()>;
    using StatusText = std::function<std::string()>;

    // healthy: checked before every watchdog ping; status: the STATUS= line
    // sent with READY=1 and refreshed with every ping (may be empty).
    SystemdNotifier(event_base& base, Healthy healthy, StatusText status = {});
    SystemdNotifier(const SystemdNotifier&) = delete;
    SystemdNotifier& operator=(const SystemdNotifier&) = delete;

    // True when notifications go anywhere.
    bool active() const { return active_; }
    // The watchdog ping period (half of WatchdogSec=), zero when off.
    std::chrono::microseconds watchdog_period() const { return period_; }

    void ready();      // READY=1 (and STATUS=): the relay is up; starts the pings
    void reloading();  // RELOADING=1: SIGHUP handling begins; call ready() after
    void stopping();   // STOPPING=1: shutdown begins; stops the pings

private:
    void send(const std::string& state);
    void ping();

    Healthy healthy_;
    StatusText status_;
    bool active_ = false;
    std::chrono::microseconds period_{0};
    loop::Event timer_;
};

}  // namespace porthop::service
