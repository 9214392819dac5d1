#pragma once
// What a successfully parsed porthop command must satisfy, whatever the
// input: the relays take these as given.
#include <variant>

#include "config/parse.hpp"
#include "fuzz_common.hpp"

namespace porthop_fuzz {

inline void check_command(const porthop::config::Command& command) {
    using namespace porthop::config;
    if (const auto* status = std::get_if<ShowStatus>(&command)) FUZZ_CHECK(status->options.metrics.port() != 0);
    const auto* run = std::get_if<RunRelay>(&command);
    if (run == nullptr) return;
    const Options& o = run->options;
    FUZZ_CHECK(o.max_sessions >= 1 && o.max_sessions <= 1'000'000);
    FUZZ_CHECK(o.idle_timeout.count() > 0);
    FUZZ_CHECK(o.sndbuf == 0 || (o.sndbuf >= 4096 && o.sndbuf <= (1u << 30)));
    FUZZ_CHECK(o.rcvbuf == 0 || (o.rcvbuf >= 4096 && o.rcvbuf <= (1u << 30)));
    FUZZ_CHECK(o.mode != Mode::session || !o.psk_file.empty());
    if (o.metrics) FUZZ_CHECK(o.metrics->port() != 0);
    if (o.role == Role::client) {
        FUZZ_CHECK(o.hop_interval.count() > 0);
        FUZZ_CHECK(o.hop_jitter.count() >= 0 && o.hop_jitter < o.hop_interval);
        FUZZ_CHECK(o.hop_on_stall.count() >= 0);
        FUZZ_CHECK(!o.listen.empty() && o.listen.port() != 0);
        FUZZ_CHECK(!o.server_ip.empty());
        FUZZ_CHECK(!o.server_ports.ports.empty());
    } else {
        FUZZ_CHECK(!o.listen_ip.empty());
        FUZZ_CHECK(!o.listen_ports.ports.empty());
        FUZZ_CHECK(!o.upstream.empty() && o.upstream.port() != 0);
    }
}

}  // namespace porthop_fuzz
