// The server relay's datagram handlers, in process on loopback: a fresh
// relay::ServerRelay per input, in plain or session mode (1-4 listening ports, 1-8 sessions at most,
// default or tiny socket buffers) and plain sockets that play clients from 8
// source addresses (127.0.0.1-8), the upstream QUIC server (echoing or not,
// sometimes closed: ICMP errors), and a stranger. The input is a list of
// operations; after each one the loop runs without blocking. Checks the
// metrics invariants (check_relay) and a clean shutdown. In session mode the
// clients frame most datagrams under one of 4 session ids with a counter from
// the input (new, old, replayed), some with the probe's version byte.
#include <event2/event.h>
#include <unistd.h>

#include <memory>

#include "fuzz_relay_harness.hpp"
#include "loop/event_base.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"
#include "relay/server_relay.hpp"

using namespace porthop;
using namespace porthop_fuzz;

namespace {

constexpr size_t kSources = 8;

struct World {
    std::array<uint16_t, 4> listen_ports{};
    std::array<int, kSources> sources{};  // 127.0.0.(1+i)
    uint16_t upstream_port = 0;
    int upstream = -1;  // the QUIC server; -1 while "closed"
    int stranger = -1;  // 127.0.0.10
    Framer framer;
};
World w;

void open_upstream() { w.upstream = bound_socket(1, w.upstream_port); }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    for (auto& p : w.listen_ports) p = free_port();
    for (size_t i = 0; i < kSources; ++i) w.sources[i] = bound_socket(static_cast<uint8_t>(1 + i));
    w.upstream = bound_socket(1);
    w.upstream_port = local_port(w.upstream);
    w.stranger = bound_socket(10);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader r(data, size);
    const uint8_t c0 = r.u8();
    const size_t nports = 1 + (c0 & 3);
    const uint32_t max_sessions = 1 + ((c0 >> 2) & 7);
    const bool tiny_buffers = c0 & 0x20;
    const bool echo = c0 & 0x40;
    const bool session = c0 & 0x80;

    if (w.upstream < 0) open_upstream();
    drain(w.upstream);
    for (int fd : w.sources) drain(fd);
    drain(w.stranger);

    config::Options o;
    o.role = config::Role::server;
    o.listen_ip = *net::Address::parse_ip("127.0.0.1");
    o.listen_ports.ports.assign(w.listen_ports.begin(), w.listen_ports.begin() + nports);
    std::sort(o.listen_ports.ports.begin(), o.listen_ports.ports.end());
    o.upstream = *net::Address::parse_ip("127.0.0.1", w.upstream_port);
    o.max_sessions = max_sessions;
    o.sndbuf = tiny_buffers ? 4096 : 0;
    o.rcvbuf = tiny_buffers ? 4096 : 0;

    auto base = loop::make_event_base();
    metrics::Registry m;
    o.mode = session ? config::Mode::session : config::Mode::plain;
    std::unique_ptr<relay::Relay> relay;
    if (session) {
        relay = std::make_unique<relay::ServerRelay<relay::SessionFraming>>(*base, m, o, &w.framer.psk());
    } else {
        relay = std::make_unique<relay::ServerRelay<relay::PlainFraming>>(*base, m, o);
    }
    std::array<uint64_t, 4> counters{};  // session mode: each session id's next counter
    // Session mode: most datagrams framed under one of 4 ids (the counter
    // new, or a little behind: replays; ids 1 and 3 in AES-256-GCM where the
    // CPU has it), some raw.
    auto frame = [&](std::span<const uint8_t> p, uint8_t how) -> std::span<const uint8_t> {
        if (!session || (how & 0x0c) == 0x0c) return p;
        size_t id = how & 3;
        uint64_t counter = (how & 0x10) ? counters[id] - (how >> 5) : counters[id]++;
        return w.framer.seal(p, 0x1000 + id, counter, true, (id & 1) != 0);
    };
    bool shut = false;
    Learned sessions;  // the relay's upstream sockets, as the QUIC server sees them

    auto pump = [&] {
        for (int k = 0; k < 3; ++k) {
            event_base_loop(base.get(), EVLOOP_NONBLOCK);
            if (w.upstream >= 0) {
                drain(w.upstream, [&](const sockaddr_in& from, std::span<const uint8_t> p) {
                    sessions.add(from);
                    if (echo) send_to(w.upstream, p, from);
                });
            }
            for (int fd : w.sources) drain(fd);
            drain(w.stranger);
        }
    };

    for (int ops = 0; ops < 256 && !r.empty(); ++ops) {
        const uint8_t op = r.u8();
        const int src = w.sources[(op >> 5) & 7];
        const sockaddr_in to_listener = loopback(1, w.listen_ports[((op >> 3) & 3) % nports]);
        switch (op & 7) {
            case 0:
            case 1:
            case 2: {
                auto p = next_payload(r);
                send_to(src, frame(p, r.u8()), to_listener);
                break;
            }
            case 3:  // a burst: full receive batches, and a full send buffer with tiny buffers
            {
                size_t count = 1 + r.u8();
                auto p = next_payload(r, 2048);
                uint8_t how = r.u8();
                for (size_t i = 0; i < count; ++i) send_to(src, frame(p, how), to_listener);
                break;
            }
            case 4:  // the QUIC server sends on one session
                if (const sockaddr_in* s = sessions.pick(r.u8()); s && w.upstream >= 0)
                    send_to(w.upstream, next_payload(r), *s);
                break;
            case 5:  // the QUIC server's port closes (ICMP port unreachable) or opens again
                if (w.upstream >= 0) {
                    ::close(w.upstream);
                    w.upstream = -1;
                } else {
                    open_upstream();
                }
                break;
            case 6:  // a stranger writes to a session's upstream socket
                if (const sockaddr_in* s = sessions.pick(r.u8())) send_to(w.stranger, next_payload(r), *s);
                break;
            case 7:
                if ((op >> 3) == 0x1f && !shut) {  // rarely: shut down in the middle of traffic
                    relay->shutdown();
                    shut = true;
                }
                break;
        }
        pump();
        if (!shut) check_relay(m, *relay, max_sessions);
    }
    pump();
    if (!shut) {
        check_relay(m, *relay, max_sessions);
        relay->shutdown();
    }
    check_shut_down(m, *relay);
    pump();
    relay.reset();
    base.reset();
    return 0;
}
