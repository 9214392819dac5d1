// The /metrics and /healthz endpoint on a real event base, driven by a
// blocking client on a thread; the loop runs until the client is done or a
// deadline passes.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "loop/event_base.hpp"
#include "metrics/http_endpoint.hpp"
#include "status/sessions_json.hpp"
#include "status/status_command.hpp"

namespace porthop::metrics {
namespace {

using namespace std::chrono_literals;

struct Response {
    int status = 0;  // 0: no response (timeout or connection failure)
    std::string head;
    std::string body;
    std::string header(const std::string& name) const {
        auto pos = head.find("\r\n" + name + ": ");
        if (pos == std::string::npos) return {};
        pos += name.size() + 4;
        return head.substr(pos, head.find("\r\n", pos) - pos);
    }
};

// A blocking TCP connection with a receive timeout.
int connect_to(const net::Address& to, std::chrono::milliseconds rcv_timeout = 5000ms) {
    int fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{};
    tv.tv_sec = rcv_timeout.count() / 1000;
    tv.tv_usec = (rcv_timeout.count() % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // Bounds connect() too: a server that stops accepting fails the test in
    // seconds instead of hanging it for the kernel's SYN retries.
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, to.sockaddr_ptr(), to.length()) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads until EOF (or the receive timeout) and parses the status line.
Response read_response(int fd) {
    std::string raw;
    char buf[16384];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, size_t(n));
    }
    Response r;
    auto end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
    r.status = std::stoi(raw.substr(9, 3));
    r.head = raw.substr(0, end + 2);
    r.body = raw.substr(end + 4);
    return r;
}

Response http_exchange(const net::Address& to, const std::string& request) {
    int fd = connect_to(to);
    if (fd < 0) return {};
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    Response r = read_response(fd);
    ::close(fd);
    return r;
}

std::string get(const std::string& path, const std::string& method = "GET") {
    return method + " " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
}

class MetricsHttp : public ::testing::Test {
protected:
    // Runs `client` on a thread while the loop serves; false on deadline.
    bool run(const std::function<void()>& client, std::chrono::milliseconds deadline = 10000ms) {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
        bool timed_out = false;
        loop::Event wake(*base_, pipe_fds[0], EV_READ, [&](short) { event_base_loopbreak(base_.get()); });
        loop::Event timer(*base_, -1, EV_TIMEOUT, [&](short) {
            timed_out = true;
            event_base_loopbreak(base_.get());
        });
        wake.add();
        timer.add(deadline);
        std::thread thread([&] {
            client();
            char x = 1;
            [[maybe_unused]] auto n = ::write(pipe_fds[1], &x, 1);
        });
        event_base_dispatch(base_.get());
        if (timed_out) {
            // Keep serving so that the client finishes (its sockets time out).
            wake.add();
            timer.remove();
            event_base_dispatch(base_.get());
        }
        thread.join();
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return !timed_out;
    }

    std::unique_ptr<HttpEndpoint> make(HttpLimits limits = {}, const char* ip = "127.0.0.1") {
        return std::make_unique<HttpEndpoint>(
            *base_, *net::Address::parse_ip(ip, 0), registry_, BuildInfo{"9.9.9", "server", "plain"},
            [this] { return health_; }, limits);
    }

    loop::EventBasePtr base_ = loop::make_event_base();
    Registry registry_;
    HealthState health_{true, std::chrono::steady_clock::now(), 3};
};

TEST_F(MetricsHttp, MetricsAnswers200WithPrometheusContentType) {
    registry_.relayed(Direction::upstream, 4, 400);
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/metrics")); }));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(r.body.find("\nporthop_bytes_total{direction=\"upstream\"} 400\n"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("porthop_build_info{version=\"9.9.9\",role=\"server\",mode=\"plain\"} 1"), std::string::npos);
    EXPECT_NE(r.body.find("\nprocess_resident_memory_bytes "), std::string::npos);
}

TEST_F(MetricsHttp, MetricsIgnoresQueryString) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/metrics?x=1")); }));
    EXPECT_EQ(r.status, 200);
}

TEST_F(MetricsHttp, HeadOnMetricsHasNoBody) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/metrics", "HEAD")); }));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "");
}

TEST_F(MetricsHttp, HealthzAnswers200WithJson) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/healthz")); }));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_TRUE(
        r.body.starts_with("{\"status\":\"ok\",\"role\":\"server\",\"mode\":\"plain\",\"sessions\":3,"
                           "\"uptime_seconds\":"))
        << r.body;
    EXPECT_NE(r.body.find("\"loop_tick_age_seconds\":"), std::string::npos);
}

TEST_F(MetricsHttp, HealthzAnswers503WhenNotListening) {
    health_.listening = false;
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/healthz")); }));
    EXPECT_EQ(r.status, 503);
    EXPECT_TRUE(r.body.starts_with("{\"status\":\"unhealthy\",\"reason\":\"listening sockets are closed\"")) << r.body;
}

TEST_F(MetricsHttp, HealthzAnswers503WhenLoopTickIsStale) {
    health_.last_tick = std::chrono::steady_clock::now() - 30s;
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/healthz")); }));
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("\"reason\":\"event loop stalled"), std::string::npos) << r.body;
}

TEST_F(MetricsHttp, HealthzWithoutCallbackIsHealthy) {
    auto ep = std::make_unique<HttpEndpoint>(*base_, *net::Address::parse_ip("127.0.0.1", 0), registry_,
                                             BuildInfo{"1", "client", "session"}, HealthCallback{});
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/healthz")); }));
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("\"mode\":\"session\""), std::string::npos);
}

TEST_F(MetricsHttp, UnknownPathAnswers404) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/nothing")); }));
    EXPECT_EQ(r.status, 404);
}

TEST_F(MetricsHttp, OtherMethodAnswers405WithAllow) {
    auto ep = make();
    Response post, del;
    ASSERT_TRUE(run([&] {
        post = http_exchange(ep->local_address(),
                             "POST /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi");
        del = http_exchange(ep->local_address(), get("/healthz", "DELETE"));
    }));
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD");
    EXPECT_EQ(del.status, 405);
}

TEST_F(MetricsHttp, OversizedHeadersAreRejected) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] {
        r = http_exchange(ep->local_address(), "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') +
                                                   "\r\nConnection: close\r\n\r\n");
    }));
    EXPECT_EQ(r.status, 431);
}

TEST_F(MetricsHttp, AnswersOneRequestPerConnectionAndSaysClose) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] {
        int fd = connect_to(ep->local_address());
        std::string two = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + get("/metrics");
        ::send(fd, two.data(), two.size(), MSG_NOSIGNAL);
        r = read_response(fd);
        ::close(fd);
    }));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
    EXPECT_EQ(r.body.find("HTTP/1.1"), std::string::npos) << "second request answered";
}

TEST_F(MetricsHttp, AcceptsHttp10AndBareLineFeeds) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), "GET /healthz HTTP/1.0\n\n"); }));
    EXPECT_EQ(r.status, 200);
}

TEST_F(MetricsHttp, MalformedRequestLineAnswers400) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), "HELLO\r\n\r\n"); }));
    EXPECT_EQ(r.status, 400);
}

TEST_F(MetricsHttp, DeclaredBodyOverLimitAnswers413) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] {
        r = http_exchange(ep->local_address(), "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n");
    }));
    EXPECT_EQ(r.status, 413);
}

TEST_F(MetricsHttp, TricklingClientIsCutOffAtDeadline) {
    HttpLimits limits;
    limits.timeout = 1s;
    auto ep = make(limits);
    bool cut_off = false;
    std::chrono::steady_clock::duration held{};
    ASSERT_TRUE(run([&] {
        const auto start = std::chrono::steady_clock::now();
        int fd = connect_to(ep->local_address(), 200ms);
        // One header byte every 200 ms: an inactivity timer would never fire.
        for (int i = 0; i < 25 && !cut_off; ++i) {
            char c = 'a';
            if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) cut_off = true;
            char buf[64];
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // waits up to 200 ms
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) cut_off = true;
        }
        held = std::chrono::steady_clock::now() - start;
        ::close(fd);
    }));
    EXPECT_TRUE(cut_off);
    EXPECT_LT(held, 3s);
}

TEST_F(MetricsHttp, BindErrorNamesAddressAndCause) {
    auto first = make();
    const net::Address taken = first->local_address();
    try {
        HttpEndpoint second(*base_, taken, registry_, BuildInfo{}, HealthCallback{});
        FAIL() << "bound twice to " << taken.to_string();
    } catch (const HttpBindError& e) {
        EXPECT_EQ(std::string(e.what()), "--metrics " + taken.to_string() + ": cannot listen: Address already in use");
    }
}

TEST_F(MetricsHttp, ServesOnIpv6Loopback) {
    std::unique_ptr<HttpEndpoint> ep;
    try {
        ep = make({}, "::1");
    } catch (const HttpBindError& e) {
        GTEST_SKIP() << "no IPv6 loopback: " << e.what();
    }
    EXPECT_TRUE(ep->local_address().is_v6());
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/metrics")); }));
    EXPECT_EQ(r.status, 200);
}

TEST_F(MetricsHttp, IdleConnectionIsClosedAfterTimeout) {
    HttpLimits limits;
    limits.timeout = 1s;
    auto ep = make(limits);
    Response r;
    std::chrono::steady_clock::duration held{};
    ASSERT_TRUE(run([&] {
        const auto start = std::chrono::steady_clock::now();
        int fd = connect_to(ep->local_address(), 5000ms);
        r = read_response(fd);  // returns at EOF: the server hung up
        held = std::chrono::steady_clock::now() - start;
        ::close(fd);
    }));
    EXPECT_GE(held, 900ms);
    EXPECT_LT(held, 4500ms);  // not the client's own receive timeout
    EXPECT_EQ(ep->connections(), 0u);
}

TEST_F(MetricsHttp, OutOfDescriptorsPausesAcceptingForASecond) {
    auto ep = make();
    // A connection waiting in the backlog, made before descriptors run out.
    int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(client, 0);
    const net::Address& to = ep->local_address();
    ASSERT_TRUE(::connect(client, to.sockaddr_ptr(), to.length()) == 0 || errno == EINPROGRESS);
    // No descriptor number is free below the lowered limit: accept fails with
    // EMFILE.
    const int lowest_free = ::dup(client);
    ASSERT_GE(lowest_free, 0);
    ::close(lowest_free);
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = rlim_t(lowest_free);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int i = 0; i < 10 && ep->accepting(); ++i) event_base_loop(base_.get(), EVLOOP_ONCE | EVLOOP_NONBLOCK);
    const bool paused = !ep->accepting();
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    EXPECT_TRUE(paused);
    EXPECT_EQ(ep->connections(), 0u);

    // A second later it accepts again, and takes the waiting connection.
    const auto start = std::chrono::steady_clock::now();
    while ((!ep->accepting() || ep->connections() == 0) && std::chrono::steady_clock::now() - start < 5s) {
        event_base_loop(base_.get(), EVLOOP_ONCE);
    }
    EXPECT_TRUE(ep->accepting());
    EXPECT_EQ(ep->connections(), 1u);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 900ms);
    ::close(client);
}

TEST_F(MetricsHttp, IdleConnectionsBeyondCapDoNotLockOutScraper) {
    HttpLimits limits;
    limits.max_connections = 4;
    auto ep = make(limits);
    std::vector<int> idle;
    Response served;
    ASSERT_TRUE(run([&] {
        for (int i = 0; i < 200; ++i) idle.push_back(connect_to(ep->local_address()));
        served = http_exchange(ep->local_address(), get("/metrics"));
    }));
    EXPECT_EQ(served.status, 200);
    EXPECT_LE(ep->connections(), 4u);
    EXPECT_TRUE(ep->accepting());
    for (int fd : idle) ::close(fd);
}

TEST_F(MetricsHttp, OldestConnectionIsClosedAtCap) {
    HttpLimits limits;
    limits.max_connections = 2;
    auto ep = make(limits);
    Response oldest;
    ASSERT_TRUE(run([&] {
        int first = connect_to(ep->local_address());
        int second = connect_to(ep->local_address());
        int third = connect_to(ep->local_address());
        oldest = read_response(first);  // EOF once the third one is accepted
        ::close(first);
        ::close(second);
        ::close(third);
    }));
    EXPECT_EQ(oldest.status, 0);  // closed without a response
}

TEST_F(MetricsHttp, DestroyingEndpointWithOpenConnectionsIsSafe) {
    auto ep = make();
    int fd = -1;
    ASSERT_TRUE(run([&] {
        fd = connect_to(ep->local_address());
        std::string partial = "GET /metr";
        ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
    }));
    // Let the loop accept the connection, then tear down under it.
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
    ep.reset();
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
    ::close(fd);
    SUCCEED();
}

// ---------------------------------------------------------------------------
// GET /sessions (`porthop status`).

// An endpoint serving /sessions with `open` sessions; remembers the limit
// each request asked for.
struct SessionsSource {
    size_t open = 3;
    size_t asked = 0;
    std::string operator()(size_t limit) {
        asked = limit;
        relay::SessionsReport r{"client", "plain", open, limit, {}};
        for (size_t i = 0; i < std::min(open, limit); ++i) {
            r.sessions.push_back(
                {"10.0.0.1:" + std::to_string(1000 + i), {20000}, 1, 0, 10, 20, 0, 0, relay::HopReport{}});
        }
        return status::to_json(r);
    }
};

TEST_F(MetricsHttp, SessionsIsNotFoundUntilTheRelayServesIt) {
    auto ep = make();
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/sessions")); }));
    EXPECT_EQ(r.status, 404);
}

TEST_F(MetricsHttp, SessionsAnswersJsonWithTheDefaultLimit) {
    auto ep = make();
    SessionsSource source;
    ep->serve_sessions(std::ref(source));
    Response r;
    ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get("/sessions")); }));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(source.asked, 100u);
    EXPECT_EQ(status::from_json(r.body).sessions.size(), 3u);
}

TEST_F(MetricsHttp, SessionsLimitIsTakenFromTheQueryAndCapped) {
    auto ep = make();
    SessionsSource source;
    ep->serve_sessions(std::ref(source), SessionsLimits{100, 1000});
    std::vector<std::pair<std::string, size_t>> cases = {{"/sessions?limit=2", 2},
                                                         {"/sessions?x=1&limit=5", 5},
                                                         {"/sessions?limit=1000", 1000},
                                                         {"/sessions?limit=5000", 1000},
                                                         {"/sessions?limit=99999999999999999999999", 1000}};
    for (const auto& [target, expected] : cases) {
        Response r;
        ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get(target)); }));
        EXPECT_EQ(r.status, 200) << target;
        EXPECT_EQ(source.asked, expected) << target;
    }
}

TEST_F(MetricsHttp, SessionsRefusesALimitThatIsNotAPositiveNumber) {
    auto ep = make();
    SessionsSource source;
    ep->serve_sessions(std::ref(source));
    for (const char* target : {"/sessions?limit=0", "/sessions?limit=", "/sessions?limit=-1", "/sessions?limit=ten"}) {
        Response r;
        ASSERT_TRUE(run([&] { r = http_exchange(ep->local_address(), get(target)); }));
        EXPECT_EQ(r.status, 400) << target;
        EXPECT_NE(r.body.find("limit must be a whole number from 1"), std::string::npos) << r.body;
    }
    EXPECT_EQ(source.asked, 0u);
}

TEST_F(MetricsHttp, StatusCommandPrintsTheRelaysSessions) {
    auto ep = make();
    SessionsSource source;
    ep->serve_sessions(std::ref(source));
    config::StatusOptions options{ep->local_address(), false};
    std::string table;
    std::string json;
    ASSERT_TRUE(run([&] {
        table = status::show_status(options);
        options.json = true;
        json = status::show_status(options);
    }));
    EXPECT_NE(table.find("porthop client relay (plain mode) at " + ep->local_address().to_string() + ": 3 sessions"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("10.0.0.1:1002"), std::string::npos) << table;
    EXPECT_NE(json.find("\n  \"sessions\": [\n"), std::string::npos) << json;  // indented for reading
    EXPECT_EQ(status::from_json(json).sessions.size(), 3u);
}

TEST_F(MetricsHttp, StatusCommandExplainsARelayWithoutSessions) {
    auto ep = make();  // no serve_sessions: an older relay
    std::string error;
    ASSERT_TRUE(run([&] {
        try {
            status::show_status(config::StatusOptions{ep->local_address(), false});
        } catch (const status::StatusError& e) {
            error = e.what();
        }
    }));
    EXPECT_EQ(error,
              ep->local_address().to_string() +
                  ": the relay has no /sessions (a porthop older than this one?); /metrics still has the totals");
}

}  // namespace
}  // namespace porthop::metrics
