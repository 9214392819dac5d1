#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>

namespace porthop::metrics {
namespace {

std::string_view type_name(Type t) { return t == Type::counter ? "counter" : "gauge"; }

}  // namespace

void append_escaped_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c; break;
        }
    }
}

void append_escaped_help(std::string& out, std::string_view help) {
    for (char c : help) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            default: out += c; break;
        }
    }
}

void append_value(std::string& out, uint64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
}

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
}

void append_header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped_help(out, help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void append_registry(std::string& out, const Registry& registry) {
    size_t index = 0;
    for (const FamilyDef& family : kFamilies) {
        append_header(out, family.name, family.help, type_name(family.type));
        if (family.values.empty()) {
            out += family.name;
            out += ' ';
            append_value(out, registry.series(index++));
            out += '\n';
            continue;
        }
        for (std::string_view value : family.values) {
            out += family.name;
            out += '{';
            out += family.label;
            out += "=\"";
            append_escaped_label_value(out, value);
            out += "\"} ";
            append_value(out, registry.series(index++));
            out += '\n';
        }
    }
}

void append_build_info(std::string& out, const BuildInfo& build) {
    append_header(out, kBuildInfoName, kBuildInfoHelp, "gauge");
    out += kBuildInfoName;
    out += "{version=\"";
    append_escaped_label_value(out, build.version);
    out += "\",role=\"";
    append_escaped_label_value(out, build.role);
    out += "\",mode=\"";
    append_escaped_label_value(out, build.mode);
    out += "\"} 1\n";
}

void append_process(std::string& out, const ProcessStats& p) {
    auto one = [&out](const ProcessFamilyDef& def, auto value) {
        append_header(out, def.name, def.help, def.type);
        out += def.name;
        out += ' ';
        append_value(out, value);
        out += '\n';
    };
    one(kProcessCpu, p.cpu_seconds);
    one(kProcessOpenFds, p.open_fds);
    one(kProcessMaxFds, p.max_fds);
    one(kProcessVirtual, p.virtual_bytes);
    one(kProcessResident, p.resident_bytes);
    one(kProcessStartTime, p.start_time_seconds);
}

void write_exposition(std::string& out, const Registry& registry, const BuildInfo& build,
                      const ProcessStats* process) {
    out.clear();
    append_registry(out, registry);
    append_build_info(out, build);
    if (process != nullptr) append_process(out, *process);
}

}  // namespace porthop::metrics
