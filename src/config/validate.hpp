#pragma once
// One validation pass for both sources of options (raw_options.hpp): every
// check and every message is shared by the command line and the config file.

#include "config/options.hpp"
#include "config/raw_options.hpp"

namespace porthop::config {

// `role`: kClient or kServer. Resolves host names. Throws ConfigError.
Options validate(unsigned role, const RawOptions& raw);
ProbeOptions validate_probe(const RawOptions& raw);
StatusOptions validate_status(const RawOptions& raw);

}  // namespace porthop::config
