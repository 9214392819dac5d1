#pragma once
// SIGHUP: re-read the configuration (the same command line again, so flags
// keep overriding the --config file) and apply what can change without
// dropping sessions. A reload is all or nothing: if the file is invalid, or
// an option that needs a restart differs (a listening address, the server,
// the mode...), every such option is named in a log line and the running
// configuration is kept whole.

#include <functional>
#include <string>
#include <vector>

#include "config/options.hpp"

namespace porthop::service {

// One option whose value differs between the running and the re-read options.
struct Change {
    std::string option;  // long option name, "hop-interval"
    std::string from;
    std::string to;
};

// What applies the runtime options to the relay (the hop schedule of new
// hops, idle timeout, session limit); returns false if it cannot. Without
// one, only the log level changes at runtime.
using ApplyToRelay = std::function<bool(const config::Options&)>;

// The options that differ, split by whether they may change at runtime.
// runtime: log-level always; with apply_to_relay also hop-interval,
// hop-jitter, hop-bytes, hop-on-stall, hop-on-slowdown, hop-grace,
// idle-timeout, max-sessions, new-session-rate. restart: everything else
// (listen, server, upstream, workers, mode, psk-file, mtu, metrics, sndbuf, rcvbuf).
struct ReloadPlan {
    std::vector<Change> runtime;
    std::vector<Change> restart;
};
ReloadPlan plan_reload(const config::Options& running, const config::Options& reread, bool relay_applies);

class Reloader {
public:
    // args: the process's arguments (argv[0..argc)), re-parsed on each reload.
    Reloader(std::vector<std::string> args, config::Options running, ApplyToRelay apply_to_relay = {});

    // Re-reads and applies; logs what changed, or why nothing did. True when
    // the re-read configuration is now in force (also when nothing changed).
    bool reload();

    const config::Options& options() const { return running_; }

private:
    std::vector<std::string> args_;
    config::Options running_;
    ApplyToRelay apply_to_relay_;
};

}  // namespace porthop::service
