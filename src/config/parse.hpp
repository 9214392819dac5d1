#pragma once
// Turning the process arguments (and the --config file they name) into
// Options. Every failure is a ConfigError whose message is the one line the
// user sees before exit status 2.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "config/options.hpp"

namespace porthop::config {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Value parsers; each returns nullopt on invalid input (the caller names the
// option in the error).
std::optional<Duration> parse_duration(std::string_view text);  // "250ms", "10s", "2m", "1h"
std::optional<PortSet> parse_port_set(std::string_view text);   // "20000-20999", "1,5-7"
// A rate in bytes a second: "8mbit", "500kbit", "1MB", "250kB", "125000"
// (plain digits: bytes a second); nullopt on anything else or 0.
std::optional<uint64_t> parse_rate(std::string_view text);

// What the command line asked for.
struct Help {
    std::string text;
};  // --help: print text to stdout, exit 0
struct Version {
    std::string text;
};  // --version: print, exit 0
struct RunRelay {
    Options options;
};                 // client / server
struct GenKey {};  // genkey
struct RunProbe {
    ProbeOptions options;
};  // probe
struct ShowStatus {
    StatusOptions options;
};  // status
using Command = std::variant<Help, Version, RunRelay, GenKey, RunProbe, ShowStatus>;

// Throws ConfigError on any invalid input.
Command parse_command_line(int argc, const char* const* argv);

}  // namespace porthop::config
