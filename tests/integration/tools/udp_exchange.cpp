// udp_exchange: the UDP application of the integration tests. It sends
// datagrams through a relay to an echo server and checks what comes back.
//
//   udp_exchange --target ADDR:PORT [--count N] [--sessions K] [--window W]
//                [--bind ADDR[:PORT]] [--min-size B] [--max-size B]
//                [--spread SECONDS] [--timeout SECONDS] [--loss-timeout SECONDS]
//                [--give-up SECONDS] [--allow-reorder]
//
// Each of the K sessions is one socket (one source port; with --bind
// ADDR:PORT, session i uses PORT+i) with its own random 64-bit tag. A session
// sends N datagrams whose sizes cycle min..max (default 1..1472) and keeps at
// most W (default 64) of them outstanding. A datagram of size >= 16 starts
// with the tag, the sequence number and the size; every other byte, and every
// byte of a shorter datagram, is a pseudo-random function of (tag, seq,
// offset), so every size, down to 1 byte, can be checked byte for byte.
//
// Within a window every outstanding datagram has a distinct size, so an echo
// is matched to its datagram by its size and then compared byte for byte.
// Counted separately, per session:
//   ok          echoed intact
//   lost        never echoed (within --loss-timeout of being sent, or by the
//               overall --timeout)
//   reordered   echoed intact but after a later datagram of the same session
//   corrupt     no byte-identical match (same size as an outstanding one)
//   foreign     carries another session's/run's tag: someone else's data
//   late        a datagram already counted lost, arriving after --loss-timeout
//   duplicate   a second copy of a datagram already echoed
//   unexpected  matches nothing this session sent (injected, or garbage)
//   wrong_source came from an address other than the target
// --spread S paces the sending so that the N datagrams take at least S seconds.
// --give-up S (default 5) ends the run early when datagrams are outstanding
// and nothing at all has come back for S seconds (a dead path fails fast).
//
// --allow-reorder still counts and prints `reordered` but does not fail on
// it: for paths that may reorder by design (the ISP lab's shaped, multi-hop
// paths, where a relay's hop races the old flow against the new one).
//
// Prints one line per session, a summary line and a JSON line of the totals.
// Exits 0 only when every session got all N back intact and in order (in any
// order with --allow-reorder) and nothing else arrived; 1 otherwise; 2 on
// bad usage.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/address.hpp"

using porthop::net::Address;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kHeader = 16;  // tag (8) + seq (4) + size (4)

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "udp_exchange: %s\nusage: udp_exchange --target ADDR:PORT [--count N] [--sessions K] "
                 "[--window W] [--bind ADDR[:PORT]] [--min-size B] [--max-size B] [--spread SECONDS] "
                 "[--timeout SECONDS] [--loss-timeout SECONDS] [--give-up SECONDS] [--allow-reorder]\n",
                 why);
    std::exit(2);
}

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void put_le(uint8_t* p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t* p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
}

// The exact bytes of datagram `seq` of the session tagged `tag`.
void fill(uint8_t* p, size_t len, uint64_t tag, uint32_t seq) {
    uint64_t state = tag ^ (static_cast<uint64_t>(seq) * 0xD1B54A32D192ED03ULL) ^ len;
    size_t k = 0;
    if (len >= kHeader) {
        put_le(p, tag, 8);
        put_le(p + 8, seq, 4);
        put_le(p + 12, len, 4);
        k = kHeader;
    }
    while (k < len) {
        uint64_t r = splitmix64(state);
        for (int j = 0; j < 8 && k < len; ++j) p[k++] = static_cast<uint8_t>(r >> (8 * j));
    }
}

struct Counts {
    uint64_t sent = 0, ok = 0, lost = 0, reordered = 0, corrupt = 0, foreign = 0, late = 0, duplicate = 0,
             unexpected = 0, wrong_source = 0;
    void add(const Counts& o) {
        sent += o.sent;
        ok += o.ok;
        lost += o.lost;
        reordered += o.reordered;
        corrupt += o.corrupt;
        foreign += o.foreign;
        late += o.late;
        duplicate += o.duplicate;
        unexpected += o.unexpected;
        wrong_source += o.wrong_source;
    }
    std::string text() const {
        char b[320];
        std::snprintf(b, sizeof b,
                      "sent=%" PRIu64 " ok=%" PRIu64 " lost=%" PRIu64 " reordered=%" PRIu64 " corrupt=%" PRIu64
                      " foreign=%" PRIu64 " late=%" PRIu64 " duplicate=%" PRIu64 " unexpected=%" PRIu64
                      " wrong_source=%" PRIu64,
                      sent, ok, lost, reordered, corrupt, foreign, late, duplicate, unexpected, wrong_source);
        return b;
    }
};

struct Session {
    int fd = -1;
    Address local;
    uint64_t tag = 0;
    uint32_t next_seq = 0;                              // next to send
    int64_t highest_ok = -1;                            // highest seq echoed intact so far
    std::map<uint32_t, Clock::time_point> outstanding;  // seq -> sent at
    std::unordered_map<size_t, uint32_t> by_size;       // size -> outstanding seq
    std::set<uint32_t> lost_seqs;
    Counts c;
    bool done(uint32_t count) const { return next_seq >= count && outstanding.empty(); }
};

struct Config {
    Address target;
    Address bind;
    uint32_t count = 10000;
    int sessions = 1;
    size_t window = 64;
    size_t min_size = 1, max_size = 1472;
    double spread = 0, timeout = 60, loss_timeout = 3, give_up = 5;
    bool allow_reorder = false;
};

size_t size_of(const Config& cfg, uint32_t seq) { return cfg.min_size + seq % (cfg.max_size - cfg.min_size + 1); }

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void send_one(const Config& cfg, Session& s, std::vector<uint8_t>& buf, Clock::time_point now) {
    uint32_t seq = s.next_seq;
    size_t len = size_of(cfg, seq);
    fill(buf.data(), len, s.tag, seq);
    ssize_t n = sendto(s.fd, buf.data(), len, 0, cfg.target.sockaddr_ptr(), cfg.target.length());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) return;  // retry later
    if (n != static_cast<ssize_t>(len)) {
        std::fprintf(stderr, "udp_exchange: sendto %s: %s\n", cfg.target.to_string().c_str(),
                     n < 0 ? std::strerror(errno) : "short send");
    }
    // Even a failed send counts as sent: it will be reported lost.
    ++s.next_seq;
    ++s.c.sent;
    s.outstanding.emplace(seq, now);
    s.by_size[len] = seq;
}

void on_datagram(const Config& cfg, Session& s, const uint8_t* data, size_t len, const Address& from,
                 std::vector<uint8_t>& expect) {
    if (!(from == cfg.target)) {
        ++s.c.wrong_source;
        return;
    }
    bool has_header = len >= kHeader;
    uint64_t tag = has_header ? get_le(data, 8) : 0;
    auto it = s.by_size.find(len);
    if (it == s.by_size.end()) {
        if (has_header && tag != s.tag) {
            ++s.c.foreign;
            return;
        }
        // One of ours that is no longer outstanding: declared lost, or echoed already?
        for (uint32_t q : s.lost_seqs) {
            if (size_of(cfg, q) != len) continue;
            fill(expect.data(), len, s.tag, q);
            if (std::memcmp(expect.data(), data, len) == 0) {
                ++s.c.late;
                return;
            }
        }
        uint32_t limit = s.next_seq;
        for (uint32_t q = static_cast<uint32_t>(len - cfg.min_size); q < limit;
             q += static_cast<uint32_t>(cfg.max_size - cfg.min_size + 1)) {
            fill(expect.data(), len, s.tag, q);
            if (std::memcmp(expect.data(), data, len) == 0) {
                ++s.c.duplicate;
                return;
            }
        }
        ++s.c.unexpected;
        return;
    }
    uint32_t seq = it->second;
    fill(expect.data(), len, s.tag, seq);
    if (std::memcmp(expect.data(), data, len) != 0) {
        if (has_header && tag != s.tag) {
            ++s.c.foreign;
        } else {
            // Same size as an outstanding one: maybe an older copy of ours
            // (duplicate) rather than a corrupted one.
            bool dup = false;
            for (uint32_t q = static_cast<uint32_t>(len - cfg.min_size); q < seq && !dup;
                 q += static_cast<uint32_t>(cfg.max_size - cfg.min_size + 1)) {
                fill(expect.data(), len, s.tag, q);
                dup = std::memcmp(expect.data(), data, len) == 0;
            }
            ++(dup ? s.c.duplicate : s.c.corrupt);
        }
        return;  // the genuine echo may still come
    }
    ++s.c.ok;
    if (static_cast<int64_t>(seq) < s.highest_ok) ++s.c.reordered;
    s.highest_ok = std::max<int64_t>(s.highest_ok, seq);
    s.outstanding.erase(seq);
    s.by_size.erase(it);
}

void expire(const Config& cfg, Session& s, Clock::time_point now, bool all) {
    for (auto it = s.outstanding.begin(); it != s.outstanding.end();) {
        if (all || seconds(now - it->second) >= cfg.loss_timeout) {
            ++s.c.lost;
            s.lost_seqs.insert(it->first);
            s.by_size.erase(size_of(cfg, it->first));
            it = s.outstanding.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg;
    std::string bind_text;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
            return argv[++i];
        };
        if (arg == "--target") {
            auto a = Address::parse_ip_port(value());
            if (!a) usage("bad --target address");
            cfg.target = *a;
        } else if (arg == "--bind") {
            bind_text = value();
        } else if (arg == "--count") {
            cfg.count = static_cast<uint32_t>(std::strtoul(value().c_str(), nullptr, 10));
        } else if (arg == "--sessions") {
            cfg.sessions = std::atoi(value().c_str());
        } else if (arg == "--window") {
            cfg.window = std::strtoul(value().c_str(), nullptr, 10);
        } else if (arg == "--min-size") {
            cfg.min_size = std::strtoul(value().c_str(), nullptr, 10);
        } else if (arg == "--max-size") {
            cfg.max_size = std::strtoul(value().c_str(), nullptr, 10);
        } else if (arg == "--spread") {
            cfg.spread = std::atof(value().c_str());
        } else if (arg == "--timeout") {
            cfg.timeout = std::atof(value().c_str());
        } else if (arg == "--loss-timeout") {
            cfg.loss_timeout = std::atof(value().c_str());
        } else if (arg == "--give-up") {
            cfg.give_up = std::atof(value().c_str());
        } else if (arg == "--allow-reorder") {
            cfg.allow_reorder = true;
        } else {
            usage(("unknown argument " + arg).c_str());
        }
    }
    if (cfg.target.empty()) usage("--target is required");
    if (cfg.count == 0 || cfg.sessions < 1 || cfg.window < 1) usage("--count, --sessions, --window must be >= 1");
    if (cfg.min_size < 1 || cfg.max_size > 65507 || cfg.min_size > cfg.max_size) usage("bad --min-size/--max-size");
    if (cfg.window > cfg.max_size - cfg.min_size + 1) usage("--window must not exceed the number of distinct sizes");

    uint16_t base_port = 0;
    if (!bind_text.empty()) {
        if (auto a = Address::parse_ip_port(bind_text)) {
            cfg.bind = *a;
        } else if (auto b = Address::parse_ip(bind_text, 0)) {
            cfg.bind = *b;
        } else {
            usage("bad --bind address");
        }
        if (cfg.bind.family() != cfg.target.family()) usage("--bind and --target must be the same family");
        base_port = cfg.bind.port();
    } else {
        cfg.bind = *Address::parse_ip(cfg.target.is_v6() ? "::" : "0.0.0.0", 0);
    }

    std::random_device rd;
    std::vector<Session> sessions(static_cast<size_t>(cfg.sessions));
    for (int i = 0; i < cfg.sessions; ++i) {
        Session& s = sessions[static_cast<size_t>(i)];
        s.tag = (static_cast<uint64_t>(rd()) << 32) ^ rd();
        s.fd = socket(cfg.target.family(), SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (s.fd < 0) {
            std::perror("udp_exchange: socket");
            return 1;
        }
        int one = 1;
        if (cfg.target.is_v6()) setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        int buf = 4 << 20;
        setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
        setsockopt(s.fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
        Address b = cfg.bind.with_port(base_port ? static_cast<uint16_t>(base_port + i) : 0);
        if (bind(s.fd, b.sockaddr_ptr(), b.length()) != 0) {
            std::fprintf(stderr, "udp_exchange: bind %s: %s\n", b.to_string().c_str(), std::strerror(errno));
            return 1;
        }
        socklen_t len = Address::capacity();
        Address local;
        getsockname(s.fd, local.sockaddr_ptr(), &len);
        s.local = Address::from_sockaddr(local.sockaddr_ptr(), len);
    }

    std::vector<uint8_t> out(65536), in(65536), expect(65536);
    std::vector<pollfd> pfds(sessions.size());
    const auto start = Clock::now();
    const auto deadline =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.timeout));
    bool timed_out = false, gave_up = false;
    auto last_rx = start;
    for (;;) {
        auto now = Clock::now();
        bool all_done = true;
        for (auto& s : sessions) {
            // Pacing: datagram k may leave at start + k * spread / count.
            uint32_t allowed = cfg.count;
            if (cfg.spread > 0) {
                double frac = seconds(now - start) / cfg.spread;
                allowed = static_cast<uint32_t>(std::min<double>(cfg.count, frac * cfg.count + 1));
            }
            while (s.next_seq < allowed && s.outstanding.size() < cfg.window) {
                uint32_t before = s.next_seq;
                send_one(cfg, s, out, now);
                if (s.next_seq == before) break;  // EAGAIN: try again after poll
            }
            expire(cfg, s, now, false);
            if (!s.done(cfg.count)) all_done = false;
        }
        if (all_done) break;
        bool any_outstanding = false;
        for (auto& s : sessions) any_outstanding = any_outstanding || !s.outstanding.empty();
        if (cfg.give_up > 0 && any_outstanding && seconds(now - last_rx) >= cfg.give_up) gave_up = true;
        if (now >= deadline || gave_up) {
            timed_out = !gave_up;
            for (auto& s : sessions) expire(cfg, s, now, true);
            break;
        }
        for (size_t i = 0; i < sessions.size(); ++i) pfds[i] = {sessions[i].fd, POLLIN, 0};
        int r = poll(pfds.data(), pfds.size(), cfg.spread > 0 ? 1 : 20);
        if (r < 0 && errno != EINTR) {
            std::perror("udp_exchange: poll");
            return 1;
        }
        for (size_t i = 0; i < sessions.size(); ++i) {
            if (!(pfds[i].revents & (POLLIN | POLLERR))) continue;
            for (int burst = 0; burst < 256; ++burst) {
                Address from;
                socklen_t flen = Address::capacity();
                ssize_t n = recvfrom(sessions[i].fd, in.data(), in.size(), 0, from.sockaddr_ptr(), &flen);
                if (n < 0) break;  // EAGAIN, or an ICMP error (ECONNREFUSED...) reported on the socket
                last_rx = Clock::now();
                on_datagram(cfg, sessions[i], in.data(), static_cast<size_t>(n),
                            Address::from_sockaddr(from.sockaddr_ptr(), flen), expect);
            }
        }
    }
    double elapsed = seconds(Clock::now() - start);

    Counts total;
    bool pass = true;
    for (size_t i = 0; i < sessions.size(); ++i) {
        const Session& s = sessions[i];
        total.add(s.c);
        bool ok = s.c.ok == cfg.count && s.c.lost == 0 && (cfg.allow_reorder || s.c.reordered == 0) &&
                  s.c.corrupt == 0 && s.c.foreign == 0 && s.c.late == 0 && s.c.duplicate == 0 && s.c.unexpected == 0 &&
                  s.c.wrong_source == 0;
        pass = pass && ok;
        std::printf("udp_exchange: session %zu local=%s tag=%016" PRIx64 ": %s%s\n", i, s.local.to_string().c_str(),
                    s.tag, s.c.text().c_str(), ok ? "" : "  <-- FAILED");
        if (!s.lost_seqs.empty()) {
            std::printf("udp_exchange: session %zu first lost seqs:", i);
            int shown = 0;
            for (uint32_t q : s.lost_seqs) {
                if (++shown > 10) break;
                std::printf(" %u(size %zu)", q, size_of(cfg, q));
            }
            std::printf("\n");
        }
    }
    std::string problems;
    auto note = [&](const char* name, uint64_t v) {
        if (v) problems += std::string(problems.empty() ? "; problems:" : "") + " " + name + "=" + std::to_string(v);
    };
    note("lost", total.lost);
    note("reordered", total.reordered);
    note("corrupt", total.corrupt);
    note("foreign", total.foreign);
    note("late", total.late);
    note("duplicate", total.duplicate);
    note("unexpected", total.unexpected);
    note("wrong_source", total.wrong_source);
    std::printf("udp_exchange: %s: %" PRIu64 "/%" PRIu64
                " datagrams of %zu..%zu bytes back intact, "
                "%d session(s) to %s in %.2f s%s%s\n",
                pass ? "PASS" : "FAIL", total.ok, static_cast<uint64_t>(cfg.count) * sessions.size(), cfg.min_size,
                cfg.max_size, cfg.sessions, cfg.target.to_string().c_str(), elapsed, problems.c_str(),
                timed_out ? " (deadline reached)"
                : gave_up ? " (gave up: nothing came back for --give-up seconds)"
                          : "");
    std::printf("{\"sessions\":%d,\"count\":%u,\"sent\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"lost\":%" PRIu64
                ",\"reordered\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"foreign\":%" PRIu64 ",\"late\":%" PRIu64
                ",\"duplicate\":%" PRIu64 ",\"unexpected\":%" PRIu64 ",\"wrong_source\":%" PRIu64
                ",\"elapsed_s\":%.3f,\"pass\":%s}\n",
                cfg.sessions, cfg.count, total.sent, total.ok, total.lost, total.reordered, total.corrupt,
                total.foreign, total.late, total.duplicate, total.unexpected, total.wrong_source, elapsed,
                pass ? "true" : "false");
    std::fflush(stdout);
    return pass ? 0 : 1;
}
