#include "service/reload.hpp"

#include <spdlog/spdlog.h>

#include <variant>

#include "config/option_table.hpp"
#include "config/parse.hpp"

namespace porthop::service {

ReloadPlan plan_reload(const config::Options& running, const config::Options& reread, bool relay_applies) {
    ReloadPlan plan;
    for (auto& d : config::differences(running, reread)) {
        bool runtime = d.reload == config::Reload::process || (d.reload == config::Reload::relay && relay_applies);
        bool relay = d.reload == config::Reload::relay;
        (runtime ? plan.runtime : plan.restart)
            .push_back(Change{std::move(d.option), std::move(d.from), std::move(d.to), relay});
    }
    return plan;
}

Reloader::Reloader(std::vector<std::string> args, config::Options running, ApplyToRelay apply_to_relay)
    : args_(std::move(args)),
      running_(std::move(running)),
      apply_to_relay_(std::move(apply_to_relay)) {}

bool Reloader::reload() {
    const std::string what =
        running_.config_file.empty() ? std::string("the command line") : "--config " + running_.config_file;
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
    for (const Change& c : plan.runtime) relay_changes |= c.relay;
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
