#include "metrics/http_endpoint.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

#include "metrics/text_format.hpp"

namespace porthop::metrics {
namespace {

// The value of `name` in a query "a=1&limit=20"; nullopt when absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const size_t eq = pair.find('=');
        if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

}  // namespace

HttpEndpoint::HttpEndpoint(event_base& base, const net::Address& listen, const Registry& registry, BuildInfo build,
                           HealthCallback health, HttpLimits limits, std::chrono::milliseconds max_tick_age)
    : HttpEndpoint(base, listen, RegistryCollector(registry, std::move(build)), std::move(health), limits,
                   max_tick_age) {}

HttpEndpoint::HttpEndpoint(event_base& base, const net::Address& listen, std::vector<const Registry*> workers,
                           BuildInfo build, HealthCallback health, HttpLimits limits,
                           std::chrono::milliseconds max_tick_age)
    : HttpEndpoint(base, listen, RegistryCollector(std::move(workers), std::move(build)), std::move(health), limits,
                   max_tick_age) {}

HttpEndpoint::HttpEndpoint(event_base& base, const net::Address& listen, RegistryCollector collector,
                           HealthCallback health, HttpLimits limits, std::chrono::milliseconds max_tick_age)
    : registry_collector_(std::move(collector)),
      health_(std::move(health)),
      max_tick_age_(max_tick_age),
      created_(std::chrono::steady_clock::now()) {
    try {
        server_ = std::make_unique<HttpServer>(
            base, listen,
            [this](std::string_view method, std::string_view path, std::string_view query) {
                return route(method, path, query);
            },
            limits);
    } catch (const HttpBindError& e) {
        throw HttpBindError(std::string("--metrics ") + e.what());
    }
}

void HttpEndpoint::serve_sessions(SessionsCallback sessions, SessionsLimits limits) {
    sessions_ = std::move(sessions);
    sessions_limits_ = limits;
}

HttpResponse HttpEndpoint::route(std::string_view method, std::string_view path, std::string_view query) {
    const bool metrics = path == "/metrics";
    const bool health = path == "/healthz";
    const bool sessions = path == "/sessions" && sessions_;
    if (!metrics && !health && !sessions) {
        return HttpResponse::text(404, sessions_ ? "not found; try /metrics, /healthz or /sessions\n"
                                                 : "not found; try /metrics or /healthz\n");
    }
    if (method != "GET" && method != "HEAD") return HttpResponse::text(405, "use GET\n", "Allow: GET, HEAD\r\n");
    if (sessions) return sessions_response(query);
    return metrics ? metrics_response() : health_response();
}

HttpResponse HttpEndpoint::sessions_response(std::string_view query) {
    size_t limit = sessions_limits_.default_limit;
    if (auto text = query_value(query, "limit")) {
        uint64_t asked = 0;
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), asked);
        const bool digits = !text->empty() && end == text->data() + text->size();
        if (!digits || (ec == std::errc{} && asked == 0)) {
            body_ = "limit must be a whole number from 1 (larger than " + std::to_string(sessions_limits_.max_limit) +
                    " lists " + std::to_string(sessions_limits_.max_limit) + ")\n";
            return HttpResponse::text(400, body_);
        }
        limit = ec == std::errc::result_out_of_range ? sessions_limits_.max_limit
                                                     : size_t(std::min<uint64_t>(asked, sessions_limits_.max_limit));
    }
    body_ = sessions_(limit);
    return HttpResponse{200, "application/json", "Cache-Control: no-store\r\n", body_};
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
