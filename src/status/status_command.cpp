#include "status/status_command.hpp"

#include "status/http_get.hpp"
#include "status/sessions_json.hpp"
#include "status/status_table.hpp"

namespace porthop::status {

std::string show_status(const config::StatusOptions& options, std::chrono::milliseconds deadline) {
    const std::string where = options.metrics.to_string();
    HttpGetResponse response;
    try {
        response = http_get(options.metrics, "/sessions", deadline, kStatusMaxBytes);
    } catch (const HttpGetError& e) {
        std::string hint;
        switch (e.kind) {
            case HttpGetError::Kind::unreachable:
            case HttpGetError::Kind::timeout:
                hint = "; is a porthop relay running there with --metrics " + where + "?";
                break;
            case HttpGetError::Kind::protocol: hint = "; is " + where + " a porthop relay's --metrics address?"; break;
        }
        throw StatusError(e.what() + hint);
    }
    if (response.status == 404) {
        throw StatusError(where +
                          ": the relay has no /sessions (a porthop older than this one?); /metrics still has "
                          "the totals");
    }
    if (response.status != 200) {
        throw StatusError(where + ": the relay answered HTTP " + std::to_string(response.status) + " to GET /sessions");
    }
    try {
        relay::SessionsReport report = from_json(response.body);
        return options.json ? indent(response.body) : render_table(report, where);
    } catch (const SessionsJsonError& e) {
        throw StatusError(where + ": the answer to GET /sessions is not what porthop status reads: " + e.what());
    }
}

}  // namespace porthop::status
