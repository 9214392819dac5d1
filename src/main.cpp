// porthop: wires the layers together. Everything here runs once at start or
// stop; the relays own the hot path.

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <optional>
#include <variant>

#include "config/parse.hpp"
#include "crypto/session_crypto.hpp"
#include "loop/event_base.hpp"
#include "metrics/http_endpoint.hpp"
#include "metrics/registry.hpp"
#include "net/fd_limit.hpp"
#include "probe/probe_client.hpp"
#include "probe/probe_report.hpp"
#include "relay/workers.hpp"
#include "service/notify.hpp"
#include "service/reload.hpp"
#include "status/sessions_json.hpp"
#include "status/status_command.hpp"

namespace {

using namespace porthop;

constexpr int kExitInvalidInput = 2;
// Descriptors beyond sockets: stdio, the event base, the metrics listener and
// a few scrapes.
constexpr size_t kFdReserve = 64;

int fail(const std::string& message) {
    std::fprintf(stderr, "porthop: %s\n", message.c_str());
    return kExitInvalidInput;
}

void setup_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("porthop");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

int run_relay(const config::Options& options, int argc, char** argv) {
    std::optional<crypto::Key> psk;
    if (options.mode == config::Mode::session) {
        try {
            psk = crypto::load_key_file(options.psk_file);
        } catch (const crypto::KeyError& e) {
            return fail(e.what());
        }
    }
    setup_logging(options.log_level);

    config::Options resolved = options;
    resolved.workers = relay::resolve_workers(options);
    relay::SocketCount count = relay::socket_count(resolved);
    size_t sockets = count.listening;
    size_t per_session = count.per_session;
    size_t needed = sockets + per_session * options.max_sessions + kFdReserve;
    net::FdLimit limit = net::raise_fd_limit(needed);
    if (limit.soft < needed) {
        return fail("needs " + std::to_string(needed) + " file descriptors (" + std::to_string(sockets) +
                    " listening sockets + " + (per_session > 1 ? std::to_string(per_session) + " x " : "") +
                    "--max-sessions " + std::to_string(options.max_sessions) + " + " + std::to_string(kFdReserve) +
                    "), but the hard limit is " + std::to_string(limit.hard) +
                    ": raise it (ulimit -Hn, LimitNOFILE=) or lower --max-sessions");
    }

    auto base = loop::make_event_base();
    // One relay, or the server relay's --workers (worker 0 on this base).
    std::unique_ptr<relay::Workers> relay;
    try {
        relay = std::make_unique<relay::Workers>(*base, resolved, psk ? &*psk : nullptr);
    } catch (const net::NetError& e) {
        return fail(std::string("--listen: ") + e.what());
    }

    std::unique_ptr<metrics::HttpEndpoint> http;
    if (options.metrics) {
        try {
            metrics::BuildInfo build{PORTHOP_VERSION, config::to_string(options.role), config::to_string(options.mode)};
            auto health = [&relay] {
                return metrics::HealthState{relay->listening(), relay->last_tick(), relay->sessions()};
            };
            http = relay->count() > 1 ? std::make_unique<metrics::HttpEndpoint>(
                                            *base, *options.metrics, relay->registries(), std::move(build), health)
                                      : std::make_unique<metrics::HttpEndpoint>(
                                            *base, *options.metrics, relay->registry(), std::move(build), health);
        } catch (const metrics::HttpBindError& e) {
            return fail(e.what());
        }
        http->serve_sessions([&relay](size_t limit) { return status::to_json(relay->report_sessions(limit)); });
        spdlog::info("metrics on http://{}/metrics", http->local_address().to_string());
    }

    // systemd (Type=notify): READY once the sockets are up, watchdog pings
    // only while the loop ticks and the listening sockets exist.
    service::SystemdNotifier notifier(
        *base, [&relay] { return relay->listening() && Clock::now() - relay->last_tick() < std::chrono::seconds(5); },
        [&relay, &options] {
            return std::string(config::to_string(options.role)) + " relay, " + std::to_string(relay->sessions()) +
                   " sessions";
        });
    // SIGHUP re-reads the command line's --config file: what can change at
    // run time (log level, hop schedule, idle timeout, session limits) is
    // applied without dropping sessions, the rest is refused by name.
    service::Reloader reloader(std::vector<std::string>(argv, argv + argc), options,
                               [&relay](const config::Options& o) { return relay->apply_runtime_options(o); });
    loop::Event on_sighup(*base, SIGHUP, EV_SIGNAL | EV_PERSIST, [&](short) {
        notifier.reloading();
        reloader.reload();
        notifier.ready();
    });
    on_sighup.add();

    auto stop = [&](short) {
        notifier.stopping();
        spdlog::info("stopping: {} sessions closed", relay->sessions());
        relay->shutdown();
        event_base_loopbreak(base.get());
    };
    loop::Event on_sigterm(*base, SIGTERM, EV_SIGNAL, stop);
    loop::Event on_sigint(*base, SIGINT, EV_SIGNAL, stop);
    on_sigterm.add();
    on_sigint.add();

    spdlog::info("porthop {} {} relay running, mode {}", PORTHOP_VERSION, config::to_string(options.role),
                 config::to_string(options.mode));
    relay->start();
    notifier.ready();
    event_base_dispatch(base.get());
    return 0;
}

// `porthop probe`: exit 0 with a verdict, 1 when the server never answered.
int run_probe(const config::ProbeOptions& options) {
    std::optional<crypto::Key> psk;
    try {
        psk = crypto::load_key_file(options.psk_file);
    } catch (const crypto::KeyError& e) {
        return fail(e.what());
    }
    setup_logging(options.log_level);
    probe::ProbeResult result;
    try {
        result = probe::run_probe(options, *psk, stderr);
    } catch (const net::NetError& e) {
        return fail(std::string("--server: ") + e.what());
    }
    probe::Analysis analysis = probe::analyze(result.fast.series, result.slow.series, [&] {
        std::vector<probe::FlowSeries> fresh;
        for (const auto& f : result.fresh) fresh.push_back(f.series);
        return fresh;
    }());
    const auto& ip = options.server_ip;
    std::string server =
        (ip.is_v6() ? "[" + ip.ip_string() + "]" : ip.ip_string()) + ":" + options.server_ports.to_string();
    probe::ProbeReport report{server, options.duration.count() / 1000.0, options.rate, result, analysis};
    std::fputs((options.json ? probe::render_json(report) : probe::render_summary(report)).c_str(), stdout);
    return result.answered ? 0 : 1;
}

// `porthop status`: exit 0 with the sessions, 1 when the relay did not
// answer as one.
int run_status(const config::StatusOptions& options) {
    try {
        std::fputs(status::show_status(options).c_str(), stdout);
        return 0;
    } catch (const status::StatusError& e) {
        std::fprintf(stderr, "porthop status: %s\n", e.what());
        return 1;
    }
}

int dispatch(config::Command& command, int argc, char** argv) {
    return std::visit(
        [argc, argv](auto& c) -> int {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, config::Help> || std::is_same_v<T, config::Version>) {
                std::fputs(c.text.c_str(), stdout);
                if (!c.text.empty() && c.text.back() != '\n') std::fputc('\n', stdout);
                return 0;
            } else if constexpr (std::is_same_v<T, config::RunProbe>) {
                return run_probe(c.options);
            } else if constexpr (std::is_same_v<T, config::ShowStatus>) {
                return run_status(c.options);
            } else if constexpr (std::is_same_v<T, config::GenKey>) {
                std::puts(crypto::encode_key(crypto::generate_key()).c_str());
                return 0;
            } else {
                return run_relay(c.options, argc, argv);
            }
        },
        command);
}

}  // namespace

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    try {
        crypto::init();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "porthop: %s\n", e.what());
        return 1;
    }
    config::Command command;
    try {
        command = config::parse_command_line(argc, argv);
    } catch (const config::ConfigError& e) {
        return fail(e.what());
    } catch (const std::exception& e) {
        // A parser bug must still end as invalid input, never as an abort.
        return fail(std::string("cannot parse the command line: ") + e.what());
    }
    // Each command reports its own errors; anything that still gets this far
    // ends as one line and status 1, never as an abort.
    try {
        return dispatch(command, argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "porthop: unexpected error: %s\n", e.what());
    } catch (...) {
        std::fputs("porthop: unexpected error\n", stderr);
    }
    return 1;
}
