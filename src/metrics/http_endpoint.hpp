#pragma once
// The relay's HTTP endpoint (--metrics): the routes GET /metrics (Prometheus
// text format 0.0.4, serialized by prometheus-cpp), GET /healthz (small
// JSON; 200 or 503) and GET /sessions?limit=N (JSON for `porthop status`,
// written by the relay's callback), served by the bounded HttpServer on the
// relay's own libevent base: no thread of its own (prometheus-cpp's civetweb
// Exposer would bring some).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/http_server.hpp"
#include "metrics/process_collector.hpp"
#include "metrics/registry.hpp"
#include "metrics/registry_collector.hpp"

namespace porthop::metrics {

// What the relay tells /healthz at each request.
struct HealthState {
    bool listening = true;  // false once the relay's listening sockets are gone
    // When the relay's loop last ran its periodic tick; a default-constructed
    // value means "not yet" and counts from the endpoint's creation.
    std::chrono::steady_clock::time_point last_tick{};
    uint64_t sessions = 0;
};
using HealthCallback = std::function<HealthState()>;

// The body of GET /sessions (application/json) listing at most `limit`
// sessions; `limit` is already within [1, max_limit].
using SessionsCallback = std::function<std::string(size_t limit)>;
// However many sessions the relay holds, the response stays a few hundred
// kilobytes at most.
struct SessionsLimits {
    size_t default_limit = 100;  // no ?limit=
    size_t max_limit = 1000;     // a larger ?limit= is lowered to it
};

// A last_tick older than this: /healthz answers 503 "loop stalled".
inline constexpr std::chrono::milliseconds kDefaultMaxTickAge{5000};

class HttpEndpoint {
public:
    // Listens on `listen` (IPv4 or IPv6; port 0 picks a free port) and serves
    // on `base`. `registry` must outlive the endpoint. `health` may be empty:
    // then /healthz is always 200 with zero sessions and tick age 0. Throws
    // HttpBindError, its what() starting with "--metrics ADDRESS: " (main
    // turns it into exit status 2).
    HttpEndpoint(event_base& base, const net::Address& listen, const Registry& registry, BuildInfo build,
                 HealthCallback health, HttpLimits limits = {},
                 std::chrono::milliseconds max_tick_age = kDefaultMaxTickAge);
    // A server relay's workers (--workers), one registry each, summed per
    // scrape (RegistryCollector).
    HttpEndpoint(event_base& base, const net::Address& listen, std::vector<const Registry*> workers, BuildInfo build,
                 HealthCallback health, HttpLimits limits = {},
                 std::chrono::milliseconds max_tick_age = kDefaultMaxTickAge);

    // The address actually bound (the real port when asked for port 0).
    const net::Address& local_address() const { return server_->local_address(); }
    // Serves GET /sessions from now on (404 until then).
    void serve_sessions(SessionsCallback sessions, SessionsLimits limits = {});

    // HTTP connections currently open.
    size_t connections() const { return server_->connections(); }
    // False for a second after accept ran out of descriptors.
    bool accepting() const { return server_->accepting(); }

private:
    HttpEndpoint(event_base& base, const net::Address& listen, RegistryCollector collector, HealthCallback health,
                 HttpLimits limits, std::chrono::milliseconds max_tick_age);
    HttpResponse route(std::string_view method, std::string_view path, std::string_view query);
    HttpResponse metrics_response();
    HttpResponse health_response();
    HttpResponse sessions_response(std::string_view query);

    RegistryCollector registry_collector_;
    ProcessCollector process_collector_;
    HealthCallback health_;
    SessionsCallback sessions_;
    SessionsLimits sessions_limits_;
    std::chrono::milliseconds max_tick_age_;
    std::chrono::steady_clock::time_point created_;
    std::string body_;                    // the response being answered; the server copies it out at once
    std::unique_ptr<HttpServer> server_;  // last: destroyed first, no route runs after the rest is gone
};

}  // namespace porthop::metrics
