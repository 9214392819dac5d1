// loadgen: sends numbered, timestamped UDP datagrams at a target rate with
// sendmmsg, from one or many source sockets, and (with --echo) measures the
// round trip of the datagrams an echo sends back.
//
//   loadgen --dst IP:PORT [--rate PPS] [--duration S | --count N] [--size B]
//           [--sources N] [--src-port P] [--run ID] [--echo] [--wait-ms MS]
//           [--batch B] [--src-ip-base IP] [--burst K] [--rtt-out FILE]
//
// --rate 0 sends as fast as it can. --sources N opens N sockets (distinct
// source ports; P..P+N-1 when --src-port is given) and sends round-robin:
// each socket is one session for a relay. --src-ip-base IP: socket i is
// bound to IP + i (many clients, each its own address; the addresses must
// exist). --burst K: with many sources, K datagrams per socket per turn, in
// one sendmmsg (default 1: one send per datagram). Prints one JSON object on stdout:
// sent, seconds, achieved rate, and with --echo the echoes received and the
// RTT percentiles (kernel receive timestamps, SO_TIMESTAMPNS, minus the send
// time written in the payload just before sendmmsg). --rtt-out FILE: each
// echo's sequence number and round trip (µs), one per line, in arrival order.

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <thread>
#include <vector>

#include "common.hpp"

using namespace bench;

namespace {

constexpr size_t kMaxBatch = 256;

struct Echoes {
    std::vector<uint32_t> rtt_ns;  // one per echo of this run
    std::vector<uint32_t> seq;     // the generator's sequence number of each echo (--rtt-out)
    uint64_t received = 0;
    uint64_t foreign = 0;
};

void echo_receiver(int fd, uint32_t run, std::atomic<bool>& stop, Echoes& out) {
    constexpr size_t n = 64;
    static char bufs[n][2048];
    static char ctrl[n][128];
    mmsghdr msgs[n];
    iovec iovs[n];
    for (size_t i = 0; i < n; ++i) {
        iovs[i] = {bufs[i], sizeof bufs[i]};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    pollfd pfd{fd, POLLIN, 0};
    while (!stop.load(std::memory_order_relaxed)) {
        if (poll(&pfd, 1, 20) <= 0) continue;
        for (size_t i = 0; i < n; ++i) {
            msgs[i].msg_hdr.msg_control = ctrl[i];
            msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i];
        }
        int got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, nullptr);
        if (got <= 0) continue;
        uint64_t user_now = now_ns(CLOCK_REALTIME);
        for (int i = 0; i < got; ++i) {
            if (msgs[i].msg_len < sizeof(Header)) {
                ++out.foreign;
                continue;
            }
            Header h;
            std::memcpy(&h, bufs[i], sizeof h);
            if (h.magic != kMagic || h.run != run) {
                ++out.foreign;
                continue;
            }
            uint64_t rx = user_now;
            for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                    timespec ts;
                    std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    rx = uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
                }
            }
            uint64_t d = rx > h.t_ns ? rx - h.t_ns : 0;
            out.rtt_ns.push_back(uint32_t(std::min<uint64_t>(d, UINT32_MAX)));
            out.seq.push_back(uint32_t(h.seq));
            ++out.received;
        }
    }
}

double pct(std::vector<uint32_t>& v, double p) {
    if (v.empty()) return 0;
    size_t k = size_t(p * double(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
    Args a(argc, argv, {"echo"});
    if (!a.has("dst")) usage_error("loadgen: --dst IP:PORT is required");
    sockaddr_in dst = parse_addr(a.str("dst"));
    const double rate = a.num("rate", 10000);
    const double duration = a.num("duration", 2);
    const uint64_t count = uint64_t(a.num("count", 0));
    const size_t size = size_t(a.num("size", 64));
    const size_t sources = size_t(a.num("sources", 1));
    const int src_port = int(a.num("src-port", 0));
    const uint32_t run = uint32_t(a.num("run", 1));
    const bool echo = a.has("echo");
    const double wait_ms = a.num("wait-ms", 300);
    const size_t batch = std::clamp<size_t>(size_t(a.num("batch", 64)), 1, kMaxBatch);
    const size_t burst = std::clamp<size_t>(size_t(a.num("burst", 1)), 1, kMaxBatch);
    const bool many_ips = a.has("src-ip-base");
    const uint32_t ip_base = many_ips ? ntohl(parse_addr(a.str("src-ip-base") + ":0").sin_addr.s_addr) : 0;
    if (size < sizeof(Header) || size > 65000) usage_error("loadgen: --size must be 32..65000");
    if (sources < 1) usage_error("loadgen: --sources must be >= 1");
    if (echo && sources != 1) usage_error("loadgen: --echo needs --sources 1");

    raise_nofile();
    std::vector<int> fds;
    fds.reserve(sources);
    for (size_t i = 0; i < sources; ++i) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket (raise the open-file limit for many --sources)");
        if (sources == 1) set_buffers(fd, 4 << 20);
        if (src_port != 0 || many_ips) {
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in local{};
            local.sin_family = AF_INET;
            local.sin_port = htons(src_port != 0 ? uint16_t(src_port + int(i)) : 0);
            if (many_ips) local.sin_addr.s_addr = htonl(ip_base + uint32_t(i));
            if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) die("bind");
        }
        if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) die("connect");
        fds.push_back(fd);
    }
    if (echo) {
        int one = 1;
        setsockopt(fds[0], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    }

    std::vector<char> bufs(kMaxBatch * size, 0);
    mmsghdr msgs[kMaxBatch];
    iovec iovs[kMaxBatch];
    for (size_t i = 0; i < kMaxBatch; ++i) {
        iovs[i] = {&bufs[i * size], size};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    std::atomic<bool> stop{false};
    Echoes echoes;
    std::thread rx;
    if (echo) {
        echoes.rtt_ns.reserve(size_t(rate * duration * 1.1) + 1024);
        echoes.seq.reserve(echoes.rtt_ns.capacity());
        rx = std::thread(echo_receiver, fds[0], run, std::ref(stop), std::ref(echoes));
    }

    const uint64_t limit = count != 0 ? count : (rate > 0 ? uint64_t(rate * duration + 0.5) : UINT64_MAX);
    const uint64_t t0 = now_ns();
    const uint64_t t_end = count != 0 ? UINT64_MAX : t0 + uint64_t(duration * 1e9);
    uint64_t sent = 0, send_errors = 0, calls = 0;
    size_t next_source = 0;
    while (sent < limit) {
        uint64_t now = now_ns();
        if (now >= t_end) break;
        uint64_t due;
        if (rate > 0) {
            uint64_t should = uint64_t(double(now - t0) * rate / 1e9) + 1;
            if (should > limit) should = limit;
            if (should <= sent) {
                // sleep until the next datagram is due
                uint64_t at = t0 + uint64_t(double(sent) * 1e9 / rate);
                timespec ts{time_t(at / 1'000'000'000ull), long(at % 1'000'000'000ull)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
                continue;
            }
            due = should - sent;
        } else {
            due = limit - sent;
        }
        size_t n = size_t(std::min<uint64_t>(due, batch));
        uint64_t stamp = now_ns(CLOCK_REALTIME);
        if (sources == 1) {
            for (size_t i = 0; i < n; ++i) {
                Header h{kMagic, run, sent + i, stamp, 0, echo ? kEchoMe : 0};
                std::memcpy(&bufs[i * size], &h, sizeof h);
            }
            int r = sendmmsg(fds[0], msgs, unsigned(n), 0);
            ++calls;
            if (r < 0) {
                if (errno == EINTR) continue;
                ++send_errors;  // e.g. ECONNREFUSED from an earlier ICMP error
                sent += n;      // counted as sent (and so as lost)
                continue;
            }
            sent += uint64_t(r);
        } else if (burst > 1) {
            // one session per socket: `burst` datagrams per socket per turn
            size_t k = std::min(n, burst);
            for (size_t i = 0; i < k; ++i) {
                Header h{kMagic, run, sent + i, stamp, uint32_t(next_source), 0};
                std::memcpy(&bufs[i * size], &h, sizeof h);
            }
            int r = sendmmsg(fds[next_source], msgs, unsigned(k), 0);
            ++calls;
            if (r < 0) {
                if (errno == EINTR) continue;
                ++send_errors;
                r = int(k);
            }
            sent += uint64_t(r);
            next_source = (next_source + 1) % sources;
        } else {
            // one session per socket: one datagram per socket per turn
            for (size_t i = 0; i < n; ++i) {
                Header h{kMagic, run, sent, stamp, uint32_t(next_source), 0};
                std::memcpy(&bufs[0], &h, sizeof h);
                if (send(fds[next_source], &bufs[0], size, 0) < 0) ++send_errors;
                ++calls;
                ++sent;
                next_source = (next_source + 1) % sources;
            }
        }
    }
    const uint64_t t1 = now_ns();
    if (echo) {
        timespec ts{time_t(wait_ms / 1000), long(std::fmod(wait_ms, 1000.0) * 1e6)};
        nanosleep(&ts, nullptr);
        stop = true;
        rx.join();
    }
    if (echo && a.has("rtt-out")) {
        // before pct() reorders rtt_ns: one line per echo, "seq rtt_us", in arrival order
        if (FILE* f = std::fopen(a.str("rtt-out").c_str(), "w")) {
            for (size_t i = 0; i < echoes.rtt_ns.size(); ++i)
                std::fprintf(f, "%u %.1f\n", echoes.seq[i], echoes.rtt_ns[i] / 1000.0);
            std::fclose(f);
        } else {
            die("--rtt-out: cannot write the file");
        }
    }
    const double secs = double(t1 - t0) / 1e9;
    std::printf(
        "{\"sent\":%llu,\"seconds\":%.4f,\"rate\":%.1f,\"target_rate\":%.1f,\"size\":%zu,"
        "\"sources\":%zu,\"send_errors\":%llu,\"calls\":%llu",
        (unsigned long long)sent, secs, secs > 0 ? double(sent) / secs : 0.0, rate, size, sources,
        (unsigned long long)send_errors, (unsigned long long)calls);
    if (echo) {
        std::printf(
            ",\"echo\":{\"received\":%llu,\"foreign\":%llu,\"p50_us\":%.1f,\"p90_us\":%.1f,"
            "\"p99_us\":%.1f,\"max_us\":%.1f,\"min_us\":%.1f}",
            (unsigned long long)echoes.received, (unsigned long long)echoes.foreign, pct(echoes.rtt_ns, 0.5),
            pct(echoes.rtt_ns, 0.9), pct(echoes.rtt_ns, 0.99), pct(echoes.rtt_ns, 1.0), pct(echoes.rtt_ns, 0.0));
    }
    std::printf("}\n");
    for (int fd : fds) close(fd);
    return 0;
}
