#pragma once
// Helpers for the one-line error messages of the command line and the config
// file: everything a user typed is quoted, on one line.

#include <string>
#include <string_view>

#include "config/options.hpp"

namespace porthop::config {

// "text" with quotes and backslashes escaped, control bytes as \xNN, cut
// after 80 characters.
std::string quote(std::string_view text);
// Newlines and tabs as spaces, trailing spaces removed.
std::string one_line(std::string text);
// The shortest exact form: "1h", "2m", "10s", "250ms".
std::string format_duration(Duration d);

}  // namespace porthop::config
