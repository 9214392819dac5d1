#pragma once
// Option values before validation. The command line and the --config file
// are both first reduced to raw option text keyed by the long option name
// ("hop-interval" -> "5s"), remembering where each value came from; flags
// override the file. One validation pass (validate.hpp) then turns the raw
// text into Options, so both sources share every check and every message.

#include <map>
#include <string>
#include <string_view>

namespace porthop::config {

struct RawValue {
    std::string text;
    std::string file;  // empty: from the command line; else the --config file it came from
};
using RawOptions = std::map<std::string, RawValue, std::less<>>;

// How an error names the option: "--hop-jitter", or for a value read from
// the config file, "--hop-jitter (from /etc/porthop.json)".
inline std::string label(std::string_view name, const RawValue& raw) {
    std::string out = "--" + std::string(name);
    if (!raw.file.empty()) out += " (from " + raw.file + ")";
    return out;
}

}  // namespace porthop::config
