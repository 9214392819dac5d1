#include "metrics/http_endpoint.hpp"

#include <nlohmann/json.hpp>

#include "metrics/text_format.hpp"

namespace porthop::metrics {
namespace {

HttpResponse text_response(int status, std::string_view body, std::string_view extra_headers = {}) {
    return HttpResponse{status, "text/plain; charset=utf-8", extra_headers, body};
}

}  // namespace

HttpEndpoint::HttpEndpoint(event_base& base, const net::Address& listen, const Registry& registry, BuildInfo build,
                           HealthCallback health, HttpLimits limits, std::chrono::milliseconds max_tick_age)
    : registry_collector_(registry, std::move(build)),
      health_(std::move(health)),
      max_tick_age_(max_tick_age),
      created_(std::chrono::steady_clock::now()) {
    try {
        server_ = std::make_unique<HttpServer>(
            base, listen, [this](std::string_view method, std::string_view path) { return route(method, path); },
            limits);
    } catch (const HttpBindError& e) {
        throw HttpBindError(std::string("--metrics ") + e.what());
    }
}

HttpResponse HttpEndpoint::route(std::string_view method, std::string_view path) {
    const bool metrics = path == "/metrics";
    const bool health = path == "/healthz";
    if (!metrics && !health) return text_response(404, "not found; try /metrics or /healthz\n");
    if (method != "GET" && method != "HEAD") return text_response(405, "use GET\n", "Allow: GET, HEAD\r\n");
    return metrics ? metrics_response() : health_response();
}

HttpResponse HttpEndpoint::metrics_response() {
    body_ = to_text({&registry_collector_, &process_collector_});
    return HttpResponse{200, kExpositionContentType, {}, body_};
}

HttpResponse HttpEndpoint::health_response() {
    using namespace std::chrono;
    const auto now = steady_clock::now();
    HealthState state;
    state.last_tick = now;
    if (health_) state = health_();
    const auto tick = state.last_tick == steady_clock::time_point{} ? created_ : state.last_tick;
    const double tick_age = now > tick ? duration<double>(now - tick).count() : 0.0;
    const double uptime = duration<double>(now - created_).count();

    std::string reason;
    if (!state.listening) {
        reason = "listening sockets are closed";
    } else if (now - tick > max_tick_age_) {
        reason = "event loop stalled: last tick " + std::to_string(tick_age) + " s ago (limit " +
                 std::to_string(duration<double>(max_tick_age_).count()) + " s)";
    }
    const BuildInfo& build = registry_collector_.build();
    nlohmann::ordered_json body;
    body["status"] = reason.empty() ? "ok" : "unhealthy";
    if (!reason.empty()) body["reason"] = reason;
    body["role"] = build.role;
    body["mode"] = build.mode;
    body["sessions"] = state.sessions;
    body["uptime_seconds"] = uptime;
    body["loop_tick_age_seconds"] = tick_age;
    body_ = body.dump();
    body_ += '\n';
    return HttpResponse{reason.empty() ? 200 : 503, "application/json", "Cache-Control: no-store\r\n", body_};
}

}  // namespace porthop::metrics
