#include "status/http_get.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace porthop::status {
namespace {

using Clock = std::chrono::steady_clock;
using Kind = HttpGetError::Kind;

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

class Request {
public:
    Request(const net::Address& server, std::chrono::milliseconds deadline)
        : server_(server.to_string()),
          limit_(deadline),
          deadline_(Clock::now() + deadline) {}

    [[noreturn]] void fail(Kind kind, const std::string& what) const {
        throw HttpGetError(kind, server_ + ": " + what);
    }

    // Waits until `fd` is ready for `events`; fails with a timeout at the
    // deadline.
    void wait(int fd, short events, const char* doing) const {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
            if (left.count() <= 0) timeout(doing);
            pollfd p{fd, events, 0};
            int n = ::poll(&p, 1, int(left.count()) + 1);
            if (n > 0) return;
            if (n < 0 && errno != EINTR) fail(Kind::protocol, std::string("poll: ") + std::strerror(errno));
        }
    }
    [[noreturn]] void timeout(const char* doing) const {
        fail(Kind::timeout, std::string("no answer within ") + std::to_string(limit_.count()) + " ms (" + doing + ")");
    }

private:
    std::string server_;
    std::chrono::milliseconds limit_;
    Clock::time_point deadline_;
};

// "HTTP/1.1 200 OK\r\n...\r\n\r\n": the status code and where the body
// starts; status 0 while the head is incomplete.
struct Head {
    int status = 0;
    size_t body_at = 0;
    std::optional<size_t> content_length;
};

Head parse_head(std::string_view data, const Request& request) {
    Head head;
    const size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) return head;
    std::string_view text = data.substr(0, end);
    if (!text.starts_with("HTTP/1.") || text.size() < 12 || text[8] != ' ') {
        request.fail(Kind::protocol, "the answer is not HTTP/1.x; is that the relay's --metrics address?");
    }
    auto [p, ec] = std::from_chars(text.data() + 9, text.data() + 12, head.status);
    if (ec != std::errc{} || p != text.data() + 12) request.fail(Kind::protocol, "malformed HTTP status line");
    for (size_t pos = text.find("\r\n"); pos != std::string_view::npos;) {
        size_t next = text.find("\r\n", pos + 2);
        std::string_view field = text.substr(pos + 2, next == std::string_view::npos ? text.npos : next - pos - 2);
        pos = next;
        constexpr std::string_view kLength = "content-length:";
        if (field.size() < kLength.size()) continue;
        bool match = true;
        for (size_t i = 0; i < kLength.size() && match; ++i)
            match = std::tolower(static_cast<unsigned char>(field[i])) == kLength[i];
        if (!match) continue;
        std::string_view value = field.substr(kLength.size());
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        size_t length = 0;
        auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (ec2 != std::errc{} || q != value.data() + value.size()) request.fail(Kind::protocol, "bad Content-Length");
        head.content_length = length;
    }
    head.body_at = end + 4;
    return head;
}

}  // namespace

HttpGetResponse http_get(const net::Address& server, std::string_view target, std::chrono::milliseconds deadline,
                         size_t max_bytes) {
    Request request(server, deadline);
    Fd sock(::socket(server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (sock.fd < 0) request.fail(Kind::unreachable, std::string("cannot open a TCP socket: ") + std::strerror(errno));

    if (::connect(sock.fd, server.sockaddr_ptr(), server.length()) != 0) {
        if (errno != EINPROGRESS) request.fail(Kind::unreachable, std::strerror(errno));
        request.wait(sock.fd, POLLOUT, "connecting");
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) request.fail(Kind::unreachable, std::strerror(error));
    }

    const std::string get = "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + server.to_string() +
                            "\r\nUser-Agent: porthop-status\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
    for (size_t sent = 0; sent < get.size();) {
        ssize_t n = ::send(sock.fd, get.data() + sent, get.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += size_t(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            request.wait(sock.fd, POLLOUT, "sending the request");
        } else {
            request.fail(Kind::protocol, std::string("sending the request: ") + std::strerror(errno));
        }
    }

    std::string data;
    Head head;
    char buf[16384];
    for (;;) {
        if (head.status == 0) head = parse_head(data, request);
        if (head.content_length && data.size() >= head.body_at + *head.content_length) break;
        ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
        if (n > 0) {
            data.append(buf, size_t(n));
            if (data.size() > max_bytes) {
                request.fail(Kind::protocol, "the answer is larger than " + std::to_string(max_bytes) + " bytes");
            }
        } else if (n == 0) {
            if (head.status == 0) head = parse_head(data, request);
            if (head.status == 0) request.fail(Kind::protocol, "the connection closed before a complete HTTP answer");
            if (head.content_length && data.size() < head.body_at + *head.content_length) {
                request.fail(Kind::protocol, "the connection closed in the middle of the answer");
            }
            break;
        } else if (errno == EAGAIN || errno == EINTR) {
            request.wait(sock.fd, POLLIN, "waiting for the answer");
        } else {
            request.fail(errno == ECONNRESET ? Kind::unreachable : Kind::protocol,
                         std::string("receiving the answer: ") + std::strerror(errno));
        }
    }
    size_t length = head.content_length ? *head.content_length : data.size() - head.body_at;
    return HttpGetResponse{head.status, data.substr(head.body_at, length)};
}

}  // namespace porthop::status
