#pragma once
// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), written from
// kFamilies and a Registry. Runs per scrape, never per packet: it may
// allocate, but it writes into a caller-owned string that keeps its capacity
// from one scrape to the next.

#include <string>
#include <string_view>

#include "metrics/process_collector.hpp"
#include "metrics/registry.hpp"

namespace porthop::metrics {

// The labels of porthop_build_info.
struct BuildInfo {
    std::string version;
    std::string role;  // "client" / "server"
    std::string mode;  // "plain" / "session"
};

// The content type of what write_exposition produces.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Clears `out` (keeping its capacity) and writes every family of kFamilies
// (one series per label value, zeros included), porthop_build_info and, when
// `process` is not null, the process_* families.
void write_exposition(std::string& out, const Registry& registry, const BuildInfo& build,
                      const ProcessStats* process);

// The parts of write_exposition; each appends to `out`.
void append_registry(std::string& out, const Registry& registry);
void append_build_info(std::string& out, const BuildInfo& build);
void append_process(std::string& out, const ProcessStats& process);

// "# HELP name help\n# TYPE name type\n", help escaped.
void append_header(std::string& out, std::string_view name, std::string_view help, std::string_view type);
// Label value escaping: backslash, double quote and line feed.
void append_escaped_label_value(std::string& out, std::string_view value);
// HELP escaping: backslash and line feed.
void append_escaped_help(std::string& out, std::string_view help);
// Sample values: integers exactly, doubles in their shortest round-trip form.
void append_value(std::string& out, uint64_t value);
void append_value(std::string& out, double value);

}  // namespace porthop::metrics
