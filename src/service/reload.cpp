#include "service/reload.hpp"

#include <spdlog/spdlog.h>

#include <variant>

#include "config/parse.hpp"

namespace porthop::service {

namespace {

std::string text(config::Duration d) {
    auto ms = d.count();
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1'000 == 0) return std::to_string(ms / 1'000) + "s";
    return std::to_string(ms) + "ms";
}
std::string text(const net::Address& a) { return a.empty() ? "(none)" : a.to_string(); }
std::string text(const std::optional<net::Address>& a) { return a ? a->to_string() : "(off)"; }
std::string text(const config::PortSet& p) { return p.ports.empty() ? "(none)" : p.to_string(); }
std::string text(bool b) { return b ? "true" : "false"; }
std::string text(const std::string& s) { return s.empty() ? "(none)" : s; }
std::string text(config::Mode m) { return config::to_string(m); }
template <typename N>
    requires std::is_integral_v<N>
std::string text(N n) {
    return std::to_string(n);
}

bool same(const config::PortSet& a, const config::PortSet& b) { return a.ports == b.ports; }
bool same(const std::optional<net::Address>& a, const std::optional<net::Address>& b) {
    return a.has_value() == b.has_value() && (!a || *a == *b);
}
template <typename T>
bool same(const T& a, const T& b) {
    return a == b;
}

}  // namespace

// Every field of config::Options is compared here: one left out would be
// silently ignored on reload.
ReloadPlan plan_reload(const config::Options& o, const config::Options& n, bool relay_applies) {
    ReloadPlan plan;
    auto compare = [&](const char* option, const auto& from, const auto& to, bool runtime) {
        if (same(from, to)) return;
        (runtime ? plan.runtime : plan.restart).push_back(Change{option, text(from), text(to)});
    };
    const bool client = o.role == config::Role::client;
    const char* listen = "listen";

    compare("log-level", o.log_level, n.log_level, true);
    compare("hop-interval", o.hop_interval, n.hop_interval, relay_applies);
    compare("hop-jitter", o.hop_jitter, n.hop_jitter, relay_applies);
    compare("hop-bytes", o.hop_bytes, n.hop_bytes, relay_applies);
    compare("hop-on-stall", o.hop_on_stall, n.hop_on_stall, relay_applies);
    compare("hop-on-slowdown", o.hop_on_slowdown, n.hop_on_slowdown, relay_applies);
    compare("hop-grace", o.hop_grace, n.hop_grace, relay_applies);
    compare("idle-timeout", o.idle_timeout, n.idle_timeout, relay_applies);
    compare("max-sessions", o.max_sessions, n.max_sessions, relay_applies);
    compare("new-session-rate", o.new_session_rate, n.new_session_rate, relay_applies);

    if (client) {
        compare(listen, o.listen, n.listen, false);
        compare("server", o.server_ip, n.server_ip, false);
        compare("server", o.server_ports, n.server_ports, false);
    } else {
        compare(listen, o.listen_ip, n.listen_ip, false);
        compare(listen, o.listen_ports, n.listen_ports, false);
        compare("upstream", o.upstream, n.upstream, false);
        compare("workers", o.workers, n.workers, false);
    }
    compare("mode", o.mode, n.mode, false);
    compare("psk-file", o.psk_file, n.psk_file, false);
    compare("mtu", o.mtu, n.mtu, false);
    compare("metrics", o.metrics, n.metrics, false);
    compare("sndbuf", o.sndbuf, n.sndbuf, false);
    compare("rcvbuf", o.rcvbuf, n.rcvbuf, false);
    return plan;
}

Reloader::Reloader(std::vector<std::string> args, config::Options running, ApplyToRelay apply_to_relay)
    : args_(std::move(args)), running_(std::move(running)), apply_to_relay_(std::move(apply_to_relay)) {}

bool Reloader::reload() {
    const std::string what = running_.config_file.empty() ? std::string("the command line")
                                                          : "--config " + running_.config_file;
    std::vector<const char*> argv;
    argv.reserve(args_.size());
    for (const auto& a : args_) argv.push_back(a.c_str());

    config::Options reread;
    try {
        config::Command command = config::parse_command_line(static_cast<int>(argv.size()), argv.data());
        auto* run = std::get_if<config::RunRelay>(&command);
        if (run == nullptr) {
            spdlog::error("SIGHUP: re-reading {}: not a relay command line any more; running configuration kept", what);
            return false;
        }
        reread = std::move(run->options);
    } catch (const config::ConfigError& e) {
        // The message names the option and, for the file, the file.
        spdlog::error("SIGHUP: {}; running configuration kept", e.what());
        return false;
    }

    ReloadPlan plan = plan_reload(running_, reread, static_cast<bool>(apply_to_relay_));
    if (!plan.restart.empty()) {
        for (const Change& c : plan.restart) {
            spdlog::error("SIGHUP: {} cannot change without a restart ({} -> {}); refused", c.option, c.from, c.to);
        }
        spdlog::error("SIGHUP: {} refused, running configuration kept; restart the relay to apply it", what);
        return false;
    }
    if (plan.runtime.empty()) {
        spdlog::info("SIGHUP: re-read {}: nothing changed", what);
        return true;
    }
    bool relay_changes = false;
    for (const Change& c : plan.runtime) relay_changes |= c.option != "log-level";
    if (relay_changes && !apply_to_relay_(reread)) {
        spdlog::error("SIGHUP: the relay could not apply {}; running configuration kept", what);
        return false;
    }
    spdlog::set_level(spdlog::level::from_str(reread.log_level));
    for (const Change& c : plan.runtime) {
        spdlog::warn("SIGHUP: {} {} -> {}", c.option, c.from, c.to);
    }
    running_ = std::move(reread);
    return true;
}

}  // namespace porthop::service
