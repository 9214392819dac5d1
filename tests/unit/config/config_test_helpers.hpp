#pragma once
// What the config unit tests share: running the command line as a user types
// it (without "porthop"), taking the options it yields, and the one-line
// message of the ConfigError it raises.

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "config/parse.hpp"

#define EXPECT_CONTAINS(haystack, needle)                            \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
        << "\"" << (haystack) << "\" lacks \"" << (needle) << "\""

namespace porthop::config {

// parse_command_line on "porthop" followed by `args`.
inline Command parse(std::vector<std::string> args) {
    args.insert(args.begin(), "porthop");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(args.size()), argv.data());
}

// The options of the command Run (RunRelay, RunProbe) the arguments give; a
// failure when they ask for another command.
template <typename Run>
auto options_of(const std::vector<std::string>& args) {
    Command c = parse(args);
    if (!std::holds_alternative<Run>(c)) {
        ADD_FAILURE() << "the arguments ask for another command";
        return decltype(std::get<Run>(c).options){};
    }
    return std::get<Run>(c).options;
}

inline Options run(const std::vector<std::string>& args) { return options_of<RunRelay>(args); }
inline ProbeOptions probe_run(const std::vector<std::string>& args) { return options_of<RunProbe>(args); }

// The message of the ConfigError the arguments raise, checked to be one
// non-empty line; "" and a failure when they parse.
inline std::string error_of(const std::vector<std::string>& args) {
    try {
        parse(args);
    } catch (const ConfigError& e) {
        std::string message = e.what();
        EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
        EXPECT_FALSE(message.empty());
        return message;
    }
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    ADD_FAILURE() << "no ConfigError for: " << joined;
    return "";
}

// `base` followed by `more`.
inline std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
}

}  // namespace porthop::config
