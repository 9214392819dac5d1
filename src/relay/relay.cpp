#include "relay/relay.hpp"

#include <algorithm>
#include <stdexcept>

#include "config/option_table.hpp"
#include "net/reuseport_steering.hpp"
#include "relay/client_relay.hpp"
#include "relay/framing_plain.hpp"
#include "relay/framing_session.hpp"
#include "relay/server_relay.hpp"

namespace porthop::relay {

namespace {
// Often enough that a session outlives its idle timeout by at most a quarter
// of it, rarely enough that a walk over 10k sessions costs nothing.
std::chrono::microseconds sweep_period(Duration idle) {
    auto period = std::clamp<Duration>(idle / 4, Duration(50), Duration(1000));
    return std::chrono::duration_cast<std::chrono::microseconds>(period);
}
}  // namespace

Relay::Relay(event_base& base, metrics::Registry& metrics, const config::Options& options)
    : base_(base),
      metrics_(metrics),
      options_(options),
      rng_(Rng::from_kernel()),
      budget_(kQueueBudgetTotal),
      endpoints_{base, metrics, budget_, kQueueCapacityPerSocket, options.offload},
      last_tick_(Clock::now()),
      sweep_timer_(base, -1, EV_PERSIST,
                   [this](short) {
                       count_kernel_drops(endpoints_);
                       sweep(tick());
                   }),
      adapt_timer_(base, -1, EV_PERSIST, [this](short) { adapt(tick()); }) {
    sweep_timer_.add(sweep_period(options.idle_timeout));
    arm_adapt_timer();
}

void Relay::arm_adapt_timer() {
    if (options_.role == config::Role::client && adaptive_policy().enabled()) {
        if (!adapt_timer_.pending())
            adapt_timer_.add(std::chrono::duration_cast<std::chrono::microseconds>(kAdaptiveTick));
    } else {
        adapt_timer_.remove();
    }
}

net::UdpSocket Relay::open_socket(int family) const {
    auto socket = net::UdpSocket::open(family);
    socket.set_buffer_sizes(static_cast<int>(options_.sndbuf), static_cast<int>(options_.rcvbuf));
    return socket;
}

std::unique_ptr<Endpoint> Relay::open_listener(const net::Address& local, std::function<void()> on_readable,
                                               bool coalesce) {
    auto socket = open_socket(local.family());
    // --workers: one socket per worker on each port, steered by the kernel.
    if (options_.role == config::Role::server && options_.workers > 1) net::enable_reuseport(socket.fd());
    socket.bind(local);
    return std::make_unique<Endpoint>(endpoints_, std::move(socket), metrics::Direction::downstream,
                                      std::move(on_readable), local.is_wildcard(), coalesce);
}

std::vector<std::unique_ptr<Endpoint>> Relay::open_port_set_listeners(const std::function<void(size_t)>& on_readable,
                                                                      bool coalesce) {
    std::vector<std::unique_ptr<Endpoint>> listeners;
    listeners.reserve(options_.listen_ports.size());
    for (uint16_t port : options_.listen_ports.ports) {
        size_t index = listeners.size();
        auto readable = [on_readable, index] { on_readable(index); };
        listeners.push_back(open_listener(options_.listen_ip.with_port(port), readable, coalesce));
    }
    return listeners;
}

bool Relay::apply_runtime_options(const config::Options& o) {
    // Options of another role or mode describe another relay: none applies.
    if (o.role != options_.role || o.mode != options_.mode) return false;
    config::copy_relay_runtime_options(options_, o);
    sweep_timer_.add(sweep_period(options_.idle_timeout));
    arm_adapt_timer();
    on_runtime_options(Clock::now());
    return true;
}

SocketCount socket_count(const config::Options& options) {
    bool client = options.role == config::Role::client;
    bool hops_source = options.mode == config::Mode::session ? SessionFraming::kTraits.hop_source_port
                                                             : PlainFraming::kTraits.hop_source_port;
    size_t workers = client ? 1 : std::max<size_t>(options.workers, 1);
    return {client ? 1 : options.listen_ports.size() * workers, client && hops_source ? 2u : 1u};
}

std::unique_ptr<Relay> make_relay(event_base& base, metrics::Registry& metrics, const config::Options& options,
                                  const crypto::Key* psk, WorkerPlace place) {
    // The one place that knows which framings exist: each relay is
    // compiled once per framing, so the datagram path calls the framing
    // directly (no virtual call per datagram).
    if (options.mode == config::Mode::session) {
        if (psk == nullptr) throw std::invalid_argument("session mode needs the pre-shared key");
        if (options.role == config::Role::client) {
            return std::make_unique<ClientRelay<SessionFraming>>(base, metrics, options, psk);
        }
        return std::make_unique<ServerRelay<SessionFraming>>(base, metrics, options, psk, place);
    }
    if (options.role == config::Role::client) {
        return std::make_unique<ClientRelay<PlainFraming>>(base, metrics, options);
    }
    return std::make_unique<ServerRelay<PlainFraming>>(base, metrics, options, nullptr, place);
}

}  // namespace porthop::relay
