#pragma once
// A small HTTP/1.x server on the caller's libevent base, bounded so that a
// slow or hostile client cannot stall the loop it shares with the relay:
// header and body size limits, a deadline per connection (from accept to
// close, not an inactivity timer: a client trickling one byte at a time is
// cut off too) and a cap on concurrent connections (at the cap, a new
// connection closes the oldest one: idle connections cannot lock a scraper
// out, and descriptors stay bounded).
//
// Bufferevents rather than evhttp: libevent 2.1's evhttp has no connection
// cap and no way to learn that a connection closed before its first request,
// and its timeout is an inactivity timeout. One request per connection
// ("Connection: close"); Prometheus reconnects per scrape, which costs
// nothing at scrape rates. Request bodies are refused; what to answer is
// the handler's (http_endpoint.hpp has the relay's routes).

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/address.hpp"

struct event;
struct event_base;
struct evconnlistener;
struct bufferevent;
struct sockaddr;

namespace porthop::metrics {

struct HttpLimits {
    std::chrono::milliseconds timeout{10000};  // per connection, from accept to close
    size_t max_headers_bytes = 8 * 1024;
    size_t max_body_bytes = 1024;   // scrapes carry no body
    unsigned max_connections = 32;  // concurrent; a new one beyond closes the oldest
};

// What the handler answers; the views must stay valid until the handler is
// called again (the server copies them into the connection's buffer at once).
struct HttpResponse {
    int status = 200;
    std::string_view content_type = "text/plain; charset=utf-8";
    std::string_view extra_headers;  // complete "Name: value\r\n" lines
    std::string_view body;           // not sent for HEAD

    static HttpResponse text(int status, std::string_view body, std::string_view extra_headers = {}) {
        return HttpResponse{status, "text/plain; charset=utf-8", extra_headers, body};
    }
};

// Called once per well-formed request: method as sent ("GET", "HEAD",
// "POST"...), path without query or fragment (also for absolute-form
// targets), and the query without its '?' (empty when there is none).
using HttpHandler = std::function<HttpResponse(std::string_view method, std::string_view path, std::string_view query)>;

// Thrown by the constructor when the server cannot listen; what() is one
// line naming the address and the cause, e.g.
// "127.0.0.1:9100: cannot listen: Address already in use".
struct HttpBindError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class HttpServer {
public:
    // Listens on `listen` (IPv4 or IPv6; port 0 picks a free port) and serves
    // on `base`.
    HttpServer(event_base& base, const net::Address& listen, HttpHandler handler, HttpLimits limits = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // The address actually bound (the real port when asked for port 0).
    const net::Address& local_address() const { return local_; }
    // Connections currently open.
    size_t connections() const { return connections_.size(); }
    // False for a second after accept failed for want of descriptors or
    // memory (accepting again at once would spin the loop).
    bool accepting() const { return !paused_; }

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
    void reply(Connection& c, const HttpResponse& r, bool head);
    void close(Connection& c);

    event_base& base_;
    HttpHandler handler_;
    HttpLimits limits_;
    net::Address local_;
    std::string head_;  // the request head being parsed, reused from request to request
    std::list<Connection> connections_;
    bool paused_ = false;
    std::unique_ptr<event, EventDeleter> resume_timer_;  // ends the pause after an accept error
    std::unique_ptr<evconnlistener, ListenerDeleter> listener_;
};

}  // namespace porthop::metrics
