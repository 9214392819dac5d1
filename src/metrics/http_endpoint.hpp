#pragma once
// The relay's HTTP endpoint: GET /metrics (Prometheus text format 0.0.4) and
// GET /healthz (small JSON; 200 or 503), served on the relay's own libevent
// base. Bounded so that a slow or hostile scraper cannot stall the relay:
// header and body size limits, a deadline per connection (from accept to
// close, not an inactivity timer: a client trickling one byte at a time is
// cut off too) and a cap on concurrent connections (at the cap, a new
// connection closes the oldest one: idle connections cannot lock a scraper
// out, and descriptors stay bounded).
//
// A small HTTP/1.x server on bufferevents rather than evhttp: libevent 2.1's
// evhttp has no connection cap and no way to learn that a connection closed
// before its first request, and its timeout is an inactivity timeout. One
// request per connection ("Connection: close"); Prometheus reconnects per
// scrape, which costs nothing at scrape rates.

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>

#include "metrics/exposition.hpp"
#include "metrics/registry.hpp"
#include "net/address.hpp"

struct event;
struct event_base;
struct evconnlistener;
struct bufferevent;
struct sockaddr;

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

struct HttpLimits {
    std::chrono::milliseconds timeout{10000};  // per connection, from accept to close
    size_t max_headers_bytes = 8 * 1024;
    size_t max_body_bytes = 1024;             // scrapes carry no body
    unsigned max_connections = 32;            // concurrent; a new one beyond closes the oldest
    std::chrono::milliseconds max_tick_age{5000};  // older last_tick: 503 "loop stalled"
};

// Thrown by the constructor when the endpoint cannot listen; what() is one
// line naming the address and the cause, e.g.
// "--metrics 127.0.0.1:9100: cannot listen: Address already in use".
// main turns it into exit status 2.
struct HttpBindError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class HttpEndpoint {
public:
    // Listens on `listen` (IPv4 or IPv6; port 0 picks a free port) and serves
    // on `base`. `registry` must outlive the endpoint. `health` may be empty:
    // then /healthz is always 200 with zero sessions and tick age 0.
    HttpEndpoint(event_base& base, const net::Address& listen, const Registry& registry, BuildInfo build,
                 HealthCallback health, HttpLimits limits = {});
    ~HttpEndpoint();
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;

    // The address actually bound (the real port when asked for port 0).
    const net::Address& local_address() const { return local_; }
    // HTTP connections currently open.
    size_t connections() const { return connections_.size(); }
    // False while accepting is paused because the process ran out of
    // descriptors (it resumes a second later).
    bool accepting() const { return !paused_; }

    // The parts of a response, for the request handler.
    struct Response {
        int status = 200;
        std::string_view content_type = "text/plain; charset=utf-8";
        std::string_view extra_headers;  // complete "Name: value\r\n" lines
        std::string_view body;
    };

private:
    struct Connection;
    struct ListenerDeleter {
        void operator()(evconnlistener* l) const;
    };
    struct EventDeleter {
        void operator()(event* e) const;
    };

    static void on_accept(evconnlistener*, int fd, sockaddr*, int, void* self);
    static void on_accept_error(evconnlistener*, void* self);
    static void on_read(bufferevent* bev, void* conn);
    static void on_write(bufferevent* bev, void* conn);
    static void on_event(bufferevent* bev, short what, void* conn);
    static void on_deadline(int, short, void* conn);

    void read_request(Connection& c);
    void handle(Connection& c, std::string_view method, std::string_view target);
    void reply(Connection& c, const Response& r, bool head);
    Response metrics_response();
    Response health_response();
    void close(Connection& c);
    void update_accepting();

    event_base& base_;
    const Registry& registry_;
    BuildInfo build_;
    HealthCallback health_;
    HttpLimits limits_;
    net::Address local_;
    std::chrono::steady_clock::time_point created_;
    std::string scratch_;  // the response being built, reused from request to request
    std::list<Connection> connections_;
    bool paused_ = false;
    bool out_of_fds_ = false;
    std::unique_ptr<event, EventDeleter> resume_timer_;  // re-enables accept after EMFILE
    std::unique_ptr<evconnlistener, ListenerDeleter> listener_;
};

}  // namespace porthop::metrics
