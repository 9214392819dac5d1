#pragma once
// The --config FILE.json reader: a JSON object keyed by the long option names
// of the option table.

#include <string>

#include "config/raw_options.hpp"

namespace porthop::config {

// Reads the file's options for `role` (a RoleMask) into `raw`; keys already
// present (given on the command line) keep their value. Throws ConfigError.
void load_config_file(const std::string& path, unsigned role, RawOptions& raw);

}  // namespace porthop::config
