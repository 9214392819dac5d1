// The client relay's datagram handlers, in process on loopback: a fresh
// relay::ClientRelay per input, in plain or session mode (hop every 1-8 ms, sometimes by bytes or on
// stall, 1-8 sessions at most, default or tiny socket buffers) and plain
// sockets that play QUIC clients from 8 source addresses (127.0.0.1-8), the
// server relay on 4 ports of the set (echoing or not; a fifth port of the set
// is closed: ICMP errors), a stranger on another address and one on the
// server's address but outside the set. The input is a list of operations;
// after each one the loop runs without blocking. Checks the metrics
// invariants (check_relay) and a clean shutdown. In session mode the server
// relay opens what it gets and echoes it framed, and its answers are framed
// under a session id it has seen with a counter from the input.
#include <event2/event.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "fuzz_relay_harness.hpp"
#include "loop/event_base.hpp"
#include "relay/client_relay.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"

using namespace porthop;
using namespace porthop_fuzz;

namespace {

constexpr size_t kApps = 8;

struct World {
    std::array<int, kApps> apps{};  // 127.0.0.(1+i)
    std::array<int, 4> servers{};   // the server relay's sockets, 127.0.0.1
    uint16_t closed_port = 0;       // in the set, nobody listens
    int stranger = -1;              // 127.0.0.10
    int outsider = -1;              // 127.0.0.1, a port outside the set
    config::PortSet ports;
    Framer framer;
};
World w;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    for (size_t i = 0; i < kApps; ++i) w.apps[i] = bound_socket(static_cast<uint8_t>(1 + i));
    for (auto& fd : w.servers) {
        fd = bound_socket(1);
        w.ports.ports.push_back(local_port(fd));
    }
    w.closed_port = free_port();
    w.ports.ports.push_back(w.closed_port);
    std::sort(w.ports.ports.begin(), w.ports.ports.end());
    w.ports.ports.erase(std::unique(w.ports.ports.begin(), w.ports.ports.end()), w.ports.ports.end());
    w.stranger = bound_socket(10);
    w.outsider = bound_socket(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Reader r(data, size);
    const uint8_t c0 = r.u8();
    const uint8_t c1 = r.u8();
    const auto hop_interval = std::chrono::milliseconds(1 + (c0 & 7));
    const uint32_t max_sessions = 1 + (c1 & 7);
    const bool tiny_buffers = c1 & 0x08;
    const bool echo = c1 & 0x10;
    const bool session = c1 & 0x20;

    for (int fd : w.apps) drain(fd);
    for (int fd : w.servers) drain(fd);
    drain(w.stranger);
    drain(w.outsider);

    config::Options o;
    o.role = config::Role::client;
    o.listen = *net::Address::parse_ip("127.0.0.1", 0);
    o.server_ip = *net::Address::parse_ip("127.0.0.1");
    o.server_ports = w.ports;
    o.hop_interval = hop_interval;
    o.hop_jitter = (c0 & 0x08) ? hop_interval / 2 : std::chrono::milliseconds(0);
    o.hop_bytes = (c0 & 0x10) ? 1 + c1 * 64u : 0;
    o.hop_on_stall = (c0 & 0x20) ? std::chrono::milliseconds(2) : std::chrono::milliseconds(0);
    o.max_sessions = max_sessions;
    o.sndbuf = tiny_buffers ? 4096 : 0;
    o.rcvbuf = tiny_buffers ? 4096 : 0;
    o.mode = session ? config::Mode::session : config::Mode::plain;

    auto base = loop::make_event_base();
    metrics::Registry m;
    std::unique_ptr<relay::Relay> relay;
    net::Address listen;
    if (session) {
        auto c = std::make_unique<relay::ClientRelay<relay::SessionFraming>>(*base, m, o, &w.framer.psk());
        listen = c->listen_address();
        relay = std::move(c);
    } else {
        auto c = std::make_unique<relay::ClientRelay<relay::PlainFraming>>(*base, m, o);
        listen = c->listen_address();
        relay = std::move(c);
    }
    sockaddr_in to_relay{};
    std::memcpy(&to_relay, listen.sockaddr_ptr(), sizeof to_relay);
    bool shut = false;
    Learned sessions;      // the relay's upstream sockets, as the server relay sees them
    uint64_t seen_id = 0;  // session mode: the last session id the server relay saw
    uint64_t counter = 0;  // session mode: the server relay's send counter

    auto pump = [&] {
        for (int k = 0; k < 3; ++k) {
            event_base_loop(base.get(), EVLOOP_NONBLOCK);
            for (int fd : w.servers) {
                drain(fd, [&](const sockaddr_in& from, std::span<const uint8_t> p) {
                    sessions.add(from);
                    if (!session) {
                        if (echo) send_to(fd, p, from);
                        return;
                    }
                    auto opened = w.framer.open_from_client(p);
                    if (!opened) return;
                    seen_id = opened->first;
                    if (echo)
                        send_to(fd,
                                w.framer.seal(opened->second, seen_id, counter++, false, w.framer.client_sent_aes()),
                                from);
                });
            }
            for (int fd : w.apps) drain(fd);
            drain(w.stranger);
            drain(w.outsider);
        }
    };

    for (int ops = 0; ops < 256 && !r.empty(); ++ops) {
        const uint8_t op = r.u8();
        const int app = w.apps[(op >> 5) & 7];
        switch (op & 7) {
            case 0:
            case 1: send_to(app, next_payload(r), to_relay); break;
            case 2: {  // a burst from one application
                size_t count = 1 + r.u8();
                auto p = next_payload(r, 2048);
                for (size_t i = 0; i < count; ++i) send_to(app, p, to_relay);
                break;
            }
            case 3:  // the server relay answers on one session, from one of its ports
                if (const sockaddr_in* s = sessions.pick(r.u8())) {
                    auto p = next_payload(r);
                    // Session mode: framed, with a counter that may be new, old or replayed.
                    if (session && (op & 0x10) == 0)
                        p = w.framer.seal(p, seen_id, counter - (r.u8() & 3), false, w.framer.client_sent_aes());
                    send_to(w.servers[(op >> 3) & 3], p, *s);
                }
                break;
            case 4:  // a stranger (another address) writes to a session's socket
                if (const sockaddr_in* s = sessions.pick(r.u8())) send_to(w.stranger, next_payload(r), *s);
                break;
            case 5:  // the server's address, a port outside the set
                if (const sockaddr_in* s = sessions.pick(r.u8())) send_to(w.outsider, next_payload(r), *s);
                break;
            case 6:  // time passes: hops fall due, stalls are noticed
                std::this_thread::sleep_for(std::chrono::microseconds(250 * ((op >> 3) & 7)));
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
