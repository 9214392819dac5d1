#pragma once
// The JSON document of GET /sessions: written by the relay from its
// SessionsReport, read back by `porthop status`. Both directions live here,
// so each field name is written once (README, "porthop status", lists them).

#include <stdexcept>
#include <string>
#include <string_view>

#include "relay/session_report.hpp"

namespace porthop::status {

// The answer is not JSON, or not the document described above; what() says
// which field is wrong.
struct SessionsJsonError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Compact JSON, one line.
std::string to_json(const relay::SessionsReport& report);
relay::SessionsReport from_json(std::string_view text);
// A JSON document indented by two spaces, fields as they came (a newer
// relay's extra fields too): `porthop status --json`.
std::string indent(std::string_view text);

}  // namespace porthop::status
