#include "metrics/http_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace porthop::metrics {

struct HttpServer::Connection {
    HttpServer* owner = nullptr;
    bufferevent* bev = nullptr;
    std::unique_ptr<event, EventDeleter> deadline;
    std::list<Connection>::iterator self;
    bool replied = false;  // the response is queued; what comes in now is discarded
    size_t discarded = 0;  // bytes read after the request head (a body, or junk)
    bool abandon = false;  // too much junk: close as soon as the response is out
};

namespace {

// After the response, the rest of the client's input is read and discarded
// (up to this much) while waiting for its EOF.
constexpr size_t kLingerBytes = 64 * 1024;

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 413: return "Content Too Large";
        case 431: return "Request Header Fields Too Large";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// The end of the request head (the blank line) in `in`: the offset just past
// it, or -1 while it has not arrived. Accepts CRLF and bare LF line ends.
ssize_t find_head_end(evbuffer* in) {
    evbuffer_ptr crlf = evbuffer_search(in, "\n\r\n", 3, nullptr);
    evbuffer_ptr lf = evbuffer_search(in, "\n\n", 2, nullptr);
    ssize_t best = -1;
    if (crlf.pos >= 0) best = crlf.pos + 3;
    if (lf.pos >= 0 && (best < 0 || lf.pos + 2 < best)) best = lf.pos + 2;
    return best;
}

}  // namespace

void HttpServer::ListenerDeleter::operator()(evconnlistener* l) const { evconnlistener_free(l); }
void HttpServer::EventDeleter::operator()(event* e) const { event_free(e); }

HttpServer::HttpServer(event_base& base, const net::Address& listen, HttpHandler handler, HttpLimits limits)
    : base_(base),
      handler_(std::move(handler)),
      limits_(limits) {
    if (limits_.max_connections == 0) limits_.max_connections = 1;
    const std::string where = listen.to_string();
    auto fail = [&where](const char* what, int err) {
        return HttpBindError(where + ": " + what + ": " + std::strerror(err));
    };
    if (listen.empty()) throw HttpBindError(where + ": no address");

    int fd = ::socket(listen.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw fail("cannot create a socket", errno);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, listen.sockaddr_ptr(), listen.length()) != 0 || ::listen(fd, 64) != 0) {
        int err = errno;
        ::close(fd);
        throw fail("cannot listen", err);
    }
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    local_ = net::Address::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), bound_len);

    resume_timer_.reset(event_new(
        &base_, -1, 0,
        [](evutil_socket_t, short, void* self) {
            auto* server = static_cast<HttpServer*>(self);
            server->paused_ = false;
            evconnlistener_enable(server->listener_.get());
        },
        this));
    // Already listening: backlog 0. The listener owns the descriptor from here.
    listener_.reset(
        evconnlistener_new(&base_, &HttpServer::on_accept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd));
    if (!listener_ || !resume_timer_) {
        if (!listener_) ::close(fd);
        throw HttpBindError(where + ": cannot set up the listener");
    }
    evconnlistener_set_error_cb(listener_.get(), &HttpServer::on_accept_error);
}

HttpServer::~HttpServer() {
    while (!connections_.empty()) close(connections_.front());
}

void HttpServer::on_accept_error(evconnlistener*, void* self) {
    // Out of descriptors (EMFILE/ENFILE) or memory: the pending connection
    // stays in the backlog and accept would fail again at once, spinning the
    // loop. Stop accepting for a second.
    auto* server = static_cast<HttpServer*>(self);
    server->paused_ = true;
    evconnlistener_disable(server->listener_.get());
    timeval tv{1, 0};
    event_add(server->resume_timer_.get(), &tv);
}

void HttpServer::on_accept(evconnlistener*, int fd, sockaddr*, int, void* self) {
    auto* ep = static_cast<HttpServer*>(self);
    // At the cap, the oldest connection makes room: idle connections cannot
    // lock out a scraper, which sends its request at once and is answered in
    // the same loop iteration.
    while (ep->connections_.size() >= ep->limits_.max_connections) ep->close(ep->connections_.front());
    bufferevent* bev = bufferevent_socket_new(&ep->base_, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == nullptr) {
        ::close(fd);
        return;
    }
    Connection& c = ep->connections_.emplace_back();
    c.owner = ep;
    c.bev = bev;
    c.self = std::prev(ep->connections_.end());
    c.deadline.reset(event_new(&ep->base_, -1, 0, &HttpServer::on_deadline, &c));
    if (!c.deadline) {
        ep->close(c);
        return;
    }
    const auto ms = ep->limits_.timeout.count();
    timeval tv{};
    tv.tv_sec = time_t(ms / 1000);
    tv.tv_usec = suseconds_t((ms % 1000) * 1000);
    event_add(c.deadline.get(), &tv);
    // Stop reading past the header limit; read_request then answers 431.
    bufferevent_setwatermark(bev, EV_READ, 0, ep->limits_.max_headers_bytes + 1);
    bufferevent_setcb(bev, &HttpServer::on_read, &HttpServer::on_write, &HttpServer::on_event, &c);
    bufferevent_enable(bev, EV_READ);
}

void HttpServer::close(Connection& c) {
    bufferevent_free(c.bev);  // closes the socket; no callback runs after this
    connections_.erase(c.self);
}

void HttpServer::on_deadline(int, short, void* conn) {
    auto& c = *static_cast<Connection*>(conn);
    c.owner->close(c);
}

void HttpServer::on_event(bufferevent*, short, void* conn) {
    // EOF or error. After a reply this is the client closing its side, as it
    // should; before, it gave up.
    auto& c = *static_cast<Connection*>(conn);
    c.owner->close(c);
}

void HttpServer::on_write(bufferevent* bev, void* conn) {
    auto& c = *static_cast<Connection*>(conn);
    if (!c.replied || evbuffer_get_length(bufferevent_get_output(bev)) != 0) return;
    if (c.abandon) {
        c.owner->close(c);
        return;
    }
    // The response is out. Half-close and wait for the client's EOF (bounded
    // by the deadline), so that unread request bytes do not turn the close
    // into a reset that could destroy the response in flight.
    ::shutdown(bufferevent_getfd(bev), SHUT_WR);
}

void HttpServer::on_read(bufferevent*, void* conn) {
    auto& c = *static_cast<Connection*>(conn);
    c.owner->read_request(c);
}

void HttpServer::read_request(Connection& c) {
    evbuffer* in = bufferevent_get_input(c.bev);
    if (c.replied) {
        const size_t n = evbuffer_get_length(in);
        evbuffer_drain(in, n);
        c.discarded += n;
        if (c.discarded > kLingerBytes) {
            c.abandon = true;
            bufferevent_disable(c.bev, EV_READ);
            if (evbuffer_get_length(bufferevent_get_output(c.bev)) == 0) close(c);
        }
        return;
    }
    const ssize_t end = find_head_end(in);
    if (end < 0 || size_t(end) > limits_.max_headers_bytes) {
        if (evbuffer_get_length(in) > limits_.max_headers_bytes) {
            reply(c, HttpResponse::text(431, "request header fields too large\n"), false);
        }
        return;
    }
    head_.resize(size_t(end));
    evbuffer_remove(in, head_.data(), size_t(end));
    c.discarded = evbuffer_get_length(in);
    evbuffer_drain(in, c.discarded);
    bufferevent_setwatermark(c.bev, EV_READ, 0, 0);

    std::string_view head(head_);
    std::string_view line = head.substr(0, head.find('\n'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    // "METHOD SP request-target SP HTTP/1.x"
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        reply(c, HttpResponse::text(400, "bad request\n"), false);
        return;
    }
    const std::string_view version = line.substr(sp2 + 1);
    if (!version.starts_with("HTTP/1.")) {
        reply(c, HttpResponse::text(version.starts_with("HTTP/") ? 505 : 400, "HTTP/1.x only\n"), false);
        return;
    }
    // A declared body over the limit is refused before it arrives.
    for (size_t pos = line.size(); pos < head.size();) {
        size_t eol = head.find('\n', pos);
        if (eol == std::string_view::npos) eol = head.size();
        std::string_view field = head.substr(pos, eol - pos);
        pos = eol + 1;
        const size_t colon = field.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = trim(field.substr(0, colon));
        const std::string_view value = trim(field.substr(colon + 1));
        if (iequals(name, "content-length")) {
            uint64_t length = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (ec != std::errc{} || p != value.data() + value.size()) {
                reply(c, HttpResponse::text(400, "bad content-length\n"), false);
                return;
            }
            if (length > limits_.max_body_bytes) {
                reply(c, HttpResponse::text(413, "request body too large\n"), false);
                return;
            }
        } else if (iequals(name, "transfer-encoding")) {
            reply(c, HttpResponse::text(413, "request bodies are not accepted\n"), false);
            return;
        }
    }
    handle(c, line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1));
}

void HttpServer::handle(Connection& c, std::string_view method, std::string_view target) {
    // Origin form "/metrics?x" or absolute form "http://host:port/metrics".
    if (size_t scheme = target.find("://"); scheme != std::string_view::npos && !target.starts_with('/')) {
        const size_t slash = target.find('/', scheme + 3);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    target = target.substr(0, target.find('#'));
    const size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    reply(c, handler_(method, path, query), method == "HEAD");
}

void HttpServer::reply(Connection& c, const HttpResponse& r, bool head) {
    evbuffer* out = bufferevent_get_output(c.bev);
    evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\nConnection: close\r\n",
                        r.status, int(reason_phrase(r.status).size()), reason_phrase(r.status).data(),
                        int(r.content_type.size()), r.content_type.data(), r.body.size());
    evbuffer_add(out, r.extra_headers.data(), r.extra_headers.size());
    evbuffer_add(out, "\r\n", 2);
    if (!head) evbuffer_add(out, r.body.data(), r.body.size());
    c.replied = true;
    bufferevent_setwatermark(c.bev, EV_READ, 0, 0);
    bufferevent_enable(c.bev, EV_WRITE);
}

}  // namespace porthop::metrics
