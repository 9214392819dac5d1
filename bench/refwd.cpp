// refwd: the reference forwarder, the smallest userspace UDP relay that
// still carries traffic both ways. One listening socket, one socket connected
// to the destination; recvmmsg / sendmmsg in batches of 64; no sessions, no
// hopping, no queues: replies from the destination go to whoever sent to the
// listening socket last. Two of them in a row make the reference pair that
// porthop is compared with: the practical limit of a userspace relay design.
//
//   refwd --listen IP:PORT --to IP:PORT [--batch N] [--unconnected] [--cmsgs]
//
// Two switches add, one at a time, kernel work that porthop does and the
// minimal design does not, to measure what each costs (docs/bench.md):
// --unconnected sends upstream with an address per datagram (sendmmsg on an
// unconnected socket: a route lookup per datagram, as a hopping session
// does); --cmsgs asks for IP_PKTINFO and SO_RXQ_OVFL on every received
// datagram and sends replies with an IP_PKTINFO source (as porthop's
// relays do).

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

#include "common.hpp"

using namespace bench;

namespace {

volatile sig_atomic_t g_quit = 0;
constexpr size_t kMax = 64;

struct Batch {
    static constexpr size_t kSlot = 65536;
    char* buf;
    sockaddr_in from[kMax];
    mmsghdr msgs[kMax];
    iovec iovs[kMax];
    Batch() : buf(new char[kMax * kSlot]) {
        for (size_t i = 0; i < kMax; ++i) {
            iovs[i] = {buf + i * kSlot, kSlot};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
    }
};

// Moves what `in` has to `out` (to `to` unless out is connected); returns the
// number received. Leaves the last source in *last_from when asked.
bool g_cmsgs = false;
char g_ctrl[kMax][64];
in_pktinfo g_local{};  // source for replies (--cmsgs)

size_t pump(int in, int out, Batch& b, size_t batch, const sockaddr_in* to, sockaddr_in* last_from, uint64_t& dropped) {
    for (size_t i = 0; i < batch; ++i) {
        b.msgs[i].msg_hdr.msg_name = last_from ? &b.from[i] : nullptr;
        b.msgs[i].msg_hdr.msg_namelen = last_from ? sizeof b.from[i] : 0;
        b.msgs[i].msg_hdr.msg_control = g_cmsgs ? g_ctrl[i] : nullptr;
        b.msgs[i].msg_hdr.msg_controllen = g_cmsgs ? sizeof g_ctrl[i] : 0;
    }
    int got = recvmmsg(in, b.msgs, unsigned(batch), MSG_DONTWAIT, nullptr);
    if (got <= 0) return 0;
    if (last_from) *last_from = b.from[got - 1];
    for (int i = 0; i < got; ++i) {
        b.iovs[i].iov_len = b.msgs[i].msg_len;  // send exactly what came in
        b.msgs[i].msg_hdr.msg_name = to ? const_cast<sockaddr_in*>(to) : nullptr;
        b.msgs[i].msg_hdr.msg_namelen = to ? sizeof *to : 0;
        b.msgs[i].msg_hdr.msg_control = nullptr;
        b.msgs[i].msg_hdr.msg_controllen = 0;
        if (g_cmsgs && last_from == nullptr && to != nullptr) {
            // a reply with its source address chosen, as porthop's relays send
            cmsghdr* c = reinterpret_cast<cmsghdr*>(g_ctrl[i]);
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof g_local);
            std::memcpy(CMSG_DATA(c), &g_local, sizeof g_local);
            b.msgs[i].msg_hdr.msg_control = g_ctrl[i];
            b.msgs[i].msg_hdr.msg_controllen = CMSG_SPACE(sizeof g_local);
        }
    }
    int done = 0;
    while (done < got) {
        int r = sendmmsg(out, b.msgs + done, unsigned(got - done), 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            ++dropped;  // e.g. an ICMP error reported for an earlier datagram
            ++done;
            continue;
        }
        done += r;
    }
    for (int i = 0; i < got; ++i) b.iovs[i].iov_len = Batch::kSlot;
    return size_t(got);
}

}  // namespace

int main(int argc, char** argv) {
    Args a(argc, argv, {"unconnected", "cmsgs"});
    if (!a.has("listen") || !a.has("to")) usage_error("refwd: --listen IP:PORT --to IP:PORT are required");
    sockaddr_in listen_addr = parse_addr(a.str("listen"));
    sockaddr_in to = parse_addr(a.str("to"));
    size_t batch = std::clamp<size_t>(size_t(a.num("batch", 64)), 1, kMax);
    const bool unconnected = a.has("unconnected");
    g_cmsgs = a.has("cmsgs");
    g_local.ipi_spec_dst = listen_addr.sin_addr;

    // Blocking sockets (a full send buffer waits rather than drops);
    // receives never block (MSG_DONTWAIT).
    int down = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (down < 0 || up < 0) die("socket");
    set_buffers(down, 4 << 20);
    set_buffers(up, 4 << 20);
    if (bind(down, reinterpret_cast<sockaddr*>(&listen_addr), sizeof listen_addr) != 0) die("bind");
    if (!unconnected && connect(up, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) die("connect");
    if (g_cmsgs) {
        int on = 1;
        for (int fd : {down, up}) {
            setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
        }
    }

    struct sigaction sa {};
    sa.sa_handler = [](int) { g_quit = 1; };
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = down;
    epoll_ctl(ep, EPOLL_CTL_ADD, down, &ev);
    ev.data.fd = up;
    epoll_ctl(ep, EPOLL_CTL_ADD, up, &ev);

    static Batch b;
    sockaddr_in peer{};
    bool have_peer = false;
    uint64_t fwd = 0, back = 0, dropped = 0;
    epoll_event events[2];
    while (!g_quit) {
        int n = epoll_wait(ep, events, 2, 200);
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == down) {
                size_t got = pump(down, up, b, batch, unconnected ? &to : nullptr, &peer, dropped);
                if (got) have_peer = true;
                fwd += got;
            } else if (have_peer) {
                back += pump(up, down, b, batch, &peer, nullptr, dropped);
            } else {
                uint64_t ignored = 0;
                pump(up, -1, b, batch, nullptr, nullptr, ignored);  // nobody to answer yet
            }
        }
    }
    std::fprintf(stderr, "refwd: forwarded %llu, returned %llu, dropped %llu\n", (unsigned long long)fwd,
                 (unsigned long long)back, (unsigned long long)dropped);
    return 0;
}
