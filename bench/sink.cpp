// sink: receives the generator's datagrams and counts them per run: received,
// bytes, reordered (a sequence number below the highest already seen on its
// flow), duplicates, flows. It sends back to its source every datagram that
// asks for it (loadgen --echo), or all of them with --echo: the far end of a
// round-trip measurement.
//
//   sink --listen IP:PORT [--echo] [--stats FILE]
//
// SIGUSR1 appends the current run's counters as one JSON line to FILE (or
// stdout); SIGTERM/SIGINT do the same and exit. A datagram of a newer run
// (header field `run`) resets the counters; older runs count as `stale`.

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "common.hpp"

using namespace bench;

namespace {

volatile sig_atomic_t g_dump = 0;
volatile sig_atomic_t g_quit = 0;

struct Counters {
    uint32_t run = 0;
    uint64_t received = 0, bytes = 0, reordered = 0, duplicates = 0, stale = 0, foreign = 0;
    uint64_t echo_failed = 0;
    uint64_t first_ns = 0, last_ns = 0;
    std::vector<uint64_t> next_seq;  // per flow: highest seq seen + 1 (0: none yet)
    uint64_t flows = 0;

    void reset(uint32_t r) {
        run = r;
        received = bytes = reordered = duplicates = echo_failed = 0;
        first_ns = last_ns = 0;
        next_seq.assign(next_seq.size(), 0);
        flows = 0;
    }
};

void dump(const Counters& c, FILE* out) {
    double secs = c.last_ns > c.first_ns ? double(c.last_ns - c.first_ns) / 1e9 : 0;
    std::fprintf(out,
                 "{\"run\":%u,\"received\":%llu,\"bytes\":%llu,\"reordered\":%llu,\"duplicates\":%llu,"
                 "\"stale\":%llu,\"foreign\":%llu,\"flows\":%llu,\"echo_failed\":%llu,\"seconds\":%.4f}\n",
                 c.run, (unsigned long long)c.received, (unsigned long long)c.bytes, (unsigned long long)c.reordered,
                 (unsigned long long)c.duplicates, (unsigned long long)c.stale, (unsigned long long)c.foreign,
                 (unsigned long long)c.flows, (unsigned long long)c.echo_failed, secs);
    std::fflush(out);
}

}  // namespace

int main(int argc, char** argv) {
    Args a(argc, argv, {"echo"});
    if (!a.has("listen")) usage_error("sink: --listen IP:PORT is required");
    sockaddr_in local = parse_addr(a.str("listen"));
    const bool echo = a.has("echo");
    FILE* out = stdout;
    if (a.has("stats")) {
        out = std::fopen(a.str("stats").c_str(), "a");
        if (!out) die("open --stats file");
    }

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    set_buffers(fd, 8 << 20);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) die("bind");

    struct sigaction sa {};
    sa.sa_handler = [](int) { g_dump = 1; };
    sigaction(SIGUSR1, &sa, nullptr);
    sa.sa_handler = [](int) { g_quit = 1; };
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    constexpr size_t n = 64;
    static char bufs[n][65536];
    static sockaddr_in from[n];
    mmsghdr msgs[n];
    iovec iovs[n];
    for (size_t i = 0; i < n; ++i) {
        iovs[i] = {bufs[i], sizeof bufs[i]};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
    }
    mmsghdr replies[n];
    iovec reply_iovs[n];

    Counters c;
    c.next_seq.resize(1024);
    std::fprintf(stderr, "sink: listening on %s%s\n", a.str("listen").c_str(), echo ? " (echo)" : "");
    pollfd pfd{fd, POLLIN, 0};
    while (!g_quit) {
        if (g_dump) {
            g_dump = 0;
            dump(c, out);
        }
        if (poll(&pfd, 1, 50) <= 0) continue;
        for (size_t i = 0; i < n; ++i) msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        int got = recvmmsg(fd, msgs, n, MSG_DONTWAIT, nullptr);
        if (got <= 0) continue;
        uint64_t t = now_ns();
        size_t nreply = 0;
        for (int i = 0; i < got; ++i) {
            size_t len = msgs[i].msg_len;
            Header h;
            if (len < sizeof h) {
                ++c.foreign;
                continue;
            }
            std::memcpy(&h, bufs[i], sizeof h);
            if (h.magic != kMagic) {
                ++c.foreign;
                continue;
            }
            if (h.run < c.run) {
                ++c.stale;
                continue;
            }
            if (h.run > c.run) c.reset(h.run);
            if (c.received == 0) c.first_ns = t;
            c.last_ns = t;
            ++c.received;
            c.bytes += len;
            if (h.flow < (1u << 22)) {
                if (h.flow >= c.next_seq.size()) c.next_seq.resize(size_t(h.flow) * 2 + 1, 0);
                uint64_t& next = c.next_seq[h.flow];
                if (next == 0) ++c.flows;
                if (h.seq + 1 < next)
                    ++c.reordered;
                else if (h.seq + 1 == next)
                    ++c.duplicates;
                else
                    next = h.seq + 1;
            }
            if (echo || (h.flags & kEchoMe)) {
                reply_iovs[nreply] = {bufs[i], len};
                replies[nreply] = {};
                replies[nreply].msg_hdr.msg_iov = &reply_iovs[nreply];
                replies[nreply].msg_hdr.msg_iovlen = 1;
                replies[nreply].msg_hdr.msg_name = &from[i];
                replies[nreply].msg_hdr.msg_namelen = msgs[i].msg_hdr.msg_namelen;
                ++nreply;
            }
        }
        size_t done = 0;
        while (done < nreply) {
            int r = sendmmsg(fd, replies + done, unsigned(nreply - done), 0);
            if (r <= 0) {
                c.echo_failed += nreply - done;
                break;
            }
            done += size_t(r);
        }
    }
    dump(c, out);
    return 0;
}
