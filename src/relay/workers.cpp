#include "relay/workers.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <iterator>
#include <string>

#include "loop/cpus.hpp"
#include "net/udp_socket.hpp"

namespace porthop::relay {

namespace {

// The session id follows the version byte (docs/protocol.md, "Wire format").
constexpr uint32_t kSessionIdOffset = 1;
// How often each worker tells the other threads it is alive: well inside
// /healthz's and the watchdog's 5 s.
constexpr std::chrono::milliseconds kHeartbeat{250};

net::SteeringProgram program_for(config::Mode mode, uint32_t count) {
    return mode == config::Mode::session
               ? net::steer_by_payload_id(count, crypto::kRelayVersionMask, crypto::kVersion, kSessionIdOffset)
               : net::steer_by_source_ip(count);
}

const char* steered_by(config::Mode mode) { return mode == config::Mode::session ? "session id" : "source IP"; }

// Whether the kernel takes the program at all, on a socket of our own.
int try_steering(const AttachSteering& attach, const net::SteeringProgram& program) {
    auto probe = net::UdpSocket::open(AF_INET);
    net::enable_reuseport(probe.fd());
    return attach(probe.fd(), program);
}

}  // namespace

uint32_t resolve_workers(const config::Options& options) {
    if (options.role != config::Role::server) return 1;
    if (options.workers == 0) return std::min(loop::usable_cpus(), config::kMaxWorkers);
    return options.workers;
}

Workers::Workers(event_base& base, const config::Options& options, const crypto::Key* psk, const AttachSteering& attach)
    : base_(base) {
    uint32_t count = options.role == config::Role::server ? std::max<uint32_t>(options.workers, 1) : 1;
    if (count > 1) {
        if (int error = try_steering(attach, program_for(options.mode, count)); error != 0) {
            spdlog::error(
                "--workers {}: the kernel refused the steering program (SO_ATTACH_REUSEPORT_CBPF: {}); "
                "running one worker",
                count, std::strerror(error));
            count = 1;
        }
    }
    if (count > 1 && !options.state_file.empty()) {
        bool session = options.mode == config::Mode::session;
        StateFile file =
            read_state_file(options.state_file, "server", session ? "session" : "plain", options.idle_timeout);
        ++file.generation;  // this start's
        state_ = std::make_unique<SharedStateFile>(
            options.state_file, std::move(file), count, [count, session](const SavedSession& s) {
                return session ? net::worker_for_id(s.id, count) : net::worker_for_ip(s.peer, count);
            });
    }
    build(count, options, psk);
    if (count > 1 && !steer(count, options, attach)) {
        // Late refusal (the probe passed): the workers beyond the first go,
        // with the sessions they restored.
        workers_.resize(1);
        config::Options single = options;
        single.workers = 1;
        workers_[0]->relay->apply_runtime_options(single);
        count = 1;
    }
    if (count > 1) {
        spdlog::info("server relay: {} workers, each datagram steered by its {}", count, steered_by(options.mode));
    }
}

Workers::~Workers() { shutdown(); }

config::Options Workers::share(const config::Options& options, uint32_t count) {
    config::Options o = options;
    o.workers = count;
    o.max_sessions = (options.max_sessions + count - 1) / count;
    return o;
}

void Workers::build(uint32_t count, const config::Options& options, const crypto::Key* psk) {
    config::Options own = share(options, count);
    // In worker order: each relay binds every port in turn, so on every
    // port worker i's socket joins the reuseport group i-th.
    for (uint32_t i = 0; i < count; ++i) {
        auto w = std::make_unique<Worker>();
        if (i == 0) {
            w->base = &base_;
        } else {
            w->own_base = loop::make_event_base();
            w->base = w->own_base.get();
        }
        w->relay = make_relay(*w->base, w->registry, own, psk, WorkerPlace{i, count, state_.get()});
        w->mailbox = std::make_unique<loop::Mailbox>(*w->base);
        Worker* raw = w.get();
        w->heartbeat = std::make_unique<loop::Event>(*w->base, -1, EV_PERSIST, [raw](short) { publish(*raw); });
        w->heartbeat->add(std::chrono::duration_cast<std::chrono::microseconds>(kHeartbeat));
        publish(*w);
        workers_.push_back(std::move(w));
    }
}

bool Workers::steer(uint32_t count, const config::Options& options, const AttachSteering& attach) {
    auto program = program_for(options.mode, count);
    // One attach per port: a group's program applies to all its sockets.
    std::vector<int> fds = workers_[0]->relay->listener_fds();
    for (size_t p = 0; p < fds.size(); ++p) {
        if (int error = attach(fds[p], program); error != 0) {
            spdlog::error(
                "--workers {}: the kernel refused the steering program on port {} "
                "(SO_ATTACH_REUSEPORT_CBPF: {}); running one worker",
                count, options.listen_ports.ports[p], std::strerror(error));
            return false;
        }
    }
    return true;
}

void Workers::publish(Worker& w) {
    w.tick.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    w.sessions.store(w.relay->sessions(), std::memory_order_relaxed);
    w.listening.store(w.relay->listening(), std::memory_order_relaxed);
}

void Workers::start() {
    // Signals are main's (its base handles them); the workers never take one.
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    for (size_t i = 1; i < workers_.size(); ++i) {
        Worker* w = workers_[i].get();
        w->thread = std::thread([w] { event_base_dispatch(w->base); });
        // Named for top -H and /proc/PID/task/*/comm (at most 15 characters).
        pthread_setname_np(w->thread.native_handle(), ("porthop-w" + std::to_string(i)).c_str());
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

size_t Workers::sessions() const {
    size_t total = 0;
    for (const auto& w : workers_) total += w->sessions.load(std::memory_order_relaxed);
    return total;
}

bool Workers::listening() const {
    return std::all_of(workers_.begin(), workers_.end(),
                       [](const auto& w) { return w->listening.load(std::memory_order_relaxed); });
}

TimePoint Workers::last_tick() const {
    int64_t oldest = workers_.front()->tick.load(std::memory_order_relaxed);
    for (const auto& w : workers_) oldest = std::min(oldest, w->tick.load(std::memory_order_relaxed));
    return TimePoint(Clock::duration(oldest));
}

std::vector<const metrics::Registry*> Workers::registries() const {
    std::vector<const metrics::Registry*> out;
    for (const auto& w : workers_) out.push_back(&w->registry);
    return out;
}

SessionsReport Workers::report_sessions(size_t limit) const {
    SessionsReport all = workers_[0]->relay->report_sessions(limit);
    if (workers_.size() == 1) return all;
    // A rare admin request: worker 0's loop may wait this long for the others.
    constexpr auto kReportWait = std::chrono::milliseconds(250);
    std::vector<std::future<SessionsReport>> asked;
    for (size_t i = 1; i < workers_.size(); ++i) {
        Worker* w = workers_[i].get();
        // Shared: a late answer still has somewhere to go after we stop waiting.
        auto promise = std::make_shared<std::promise<SessionsReport>>();
        asked.push_back(promise->get_future());
        w->mailbox->post([w, promise, limit] { promise->set_value(w->relay->report_sessions(limit)); });
    }
    all.open = sessions();
    auto deadline = std::chrono::steady_clock::now() + kReportWait;
    for (auto& f : asked) {
        if (f.wait_until(deadline) != std::future_status::ready) continue;
        SessionsReport r = f.get();
        std::move(r.sessions.begin(), r.sessions.end(), std::back_inserter(all.sessions));
    }
    std::stable_sort(all.sessions.begin(), all.sessions.end(),
                     [](const SessionReport& a, const SessionReport& b) { return a.idle_seconds < b.idle_seconds; });
    if (all.sessions.size() > limit) all.sessions.resize(limit);
    return all;
}

bool Workers::apply_runtime_options(const config::Options& options) {
    config::Options own = share(options, static_cast<uint32_t>(workers_.size()));
    bool applied = workers_[0]->relay->apply_runtime_options(own);
    for (size_t i = 1; i < workers_.size(); ++i) {
        Worker* w = workers_[i].get();
        w->mailbox->post([w, own] { w->relay->apply_runtime_options(own); });
    }
    return applied;
}

void Workers::shutdown() {
    if (stopped_) return;
    stopped_ = true;
    for (size_t i = 1; i < workers_.size(); ++i) {
        Worker* w = workers_[i].get();
        auto stop = [w] {
            w->relay->shutdown();
            publish(*w);
            event_base_loopbreak(w->base);
        };
        if (w->thread.joinable()) {
            w->mailbox->post(stop);
        } else {
            stop();  // never started: nothing runs its loop
        }
    }
    workers_[0]->relay->shutdown();
    publish(*workers_[0]);
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }
}

}  // namespace porthop::relay
