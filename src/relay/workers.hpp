#pragma once
// The relay of one process as main sees it: one worker (the client relay,
// and the server relay by default) or, for the server relay with --workers
// N, N workers. Each worker is a whole server relay (its own event loop,
// registry, listening sockets and sessions); worker 0 runs on the caller's
// event base and thread, workers 1..N-1 each on a thread of their own. On
// every port of the set, worker i's socket is at index i of the port's
// SO_REUSEPORT group, and a steering program (net/reuseport_steering.hpp)
// sends every datagram of a session to one worker: by source IP in plain
// mode (all hops of a session come from one IP), by session id in session
// mode (source-port hops and NAT rebinding keep the id). Anything else a
// session-mode listener gets (probe datagrams, malformed ones) goes to
// worker 0. Nothing is shared between workers on the datagram path; they
// meet only in the state file (SharedStateFile), in what main reads at
// scrape, health check and watchdog time (published atomics, relaxed
// registry loads) and in tasks main posts (SIGHUP, SIGTERM).

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "config/options.hpp"
#include "crypto/session_crypto.hpp"
#include "io/clock.hpp"
#include "loop/event_base.hpp"
#include "loop/mailbox.hpp"
#include "metrics/registry.hpp"
#include "net/reuseport_steering.hpp"
#include "relay/relay.hpp"
#include "relay/shared_state_file.hpp"

namespace porthop::relay {

// How the steering program is attached (the tests make the kernel refuse).
using AttachSteering = std::function<int(int fd, const net::SteeringProgram&)>;

// --workers as asked (0: auto, one per usable CPU), for the server relay;
// always 1 for the client relay.
uint32_t resolve_workers(const config::Options& options);

class Workers {
public:
    // Builds options.workers workers (resolve_workers first: 0 is taken as
    // 1). Where the kernel refuses the steering program, logs why and runs
    // one worker. Throws net::NetError when a socket cannot be set up.
    Workers(event_base& base, const config::Options& options, const crypto::Key* psk,
            const AttachSteering& attach = net::attach_steering);
    ~Workers();
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // Starts the threads of workers 1..N-1; worker 0 runs when the caller
    // dispatches its base.
    void start();

    size_t count() const { return workers_.size(); }
    size_t sessions() const;
    // False once any worker's listening sockets are gone.
    bool listening() const;
    // The oldest of the workers' last ticks: /healthz and the watchdog fail
    // when any worker's loop stalls.
    TimePoint last_tick() const;
    // Each worker's registry, in worker order (for /metrics).
    std::vector<const metrics::Registry*> registries() const;
    // The first worker's registry (the one of a single relay).
    metrics::Registry& registry() { return workers_.front()->registry; }

    // GET /sessions: the `limit` most recently active sessions of all
    // workers. Each worker copies its own on its own thread; a worker that
    // does not answer within kReportWait is left out of the list (its
    // sessions still count in `open`, from what it last published).
    SessionsReport report_sessions(size_t limit) const;

    // SIGHUP: every worker takes the runtime options on its own thread.
    bool apply_runtime_options(const config::Options& options);
    // SIGTERM: every worker closes its sessions (saving them) and its
    // sockets; the threads are joined before this returns.
    void shutdown();

private:
    struct Worker {
        loop::EventBasePtr own_base;  // null for worker 0 (the caller's base)
        event_base* base = nullptr;
        metrics::Registry registry;
        std::unique_ptr<Relay> relay;
        std::unique_ptr<loop::Mailbox> mailbox;
        std::unique_ptr<loop::Event> heartbeat;
        // What the worker last published for other threads.
        std::atomic<int64_t> tick{0};  // Clock's time since epoch, in its ticks
        std::atomic<size_t> sessions{0};
        std::atomic<bool> listening{true};
        std::thread thread;
    };

    void build(uint32_t count, const config::Options& options, const crypto::Key* psk);
    bool steer(uint32_t count, const config::Options& options, const AttachSteering& attach);
    static void publish(Worker& w);
    // Worker i's options: the process's --max-sessions shared out.
    static config::Options share(const config::Options& options, uint32_t count);

    event_base& base_;
    std::unique_ptr<SharedStateFile> state_;
    std::vector<std::unique_ptr<Worker>> workers_;
    bool stopped_ = false;
};

}  // namespace porthop::relay
