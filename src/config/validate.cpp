// Validation: raw option text -> Options. Missing options are reported
// first, then every value, and DNS last: a typo in a flag is reported without
// waiting for a resolver.
#include "config/validate.hpp"

#include <string>
#include <tuple>

#include "config/validator.hpp"

namespace porthop::config {

Options validate(unsigned role, const RawOptions& raw) {
    Validator v(role, raw);
    Options o;
    o.role = role == kClient ? Role::client : Role::server;
    auto rows = [&](auto&& each) {
        for (const Spec& spec : option_table()) {
            if ((spec.roles & role) != 0) each(spec);
        }
    };

    rows([&](const Spec& spec) {
        if (spec.required) (void)v.required(spec.name);
    });
    rows([&](const Spec& spec) {
        if (spec.read != nullptr && spec.phase == Phase::value) spec.read(v, spec.name, o);
    });
    if (o.mode == Mode::session && o.psk_file.empty()) {
        const RawValue* m = v.get("mode");
        throw ConfigError(
            label("mode", *m) +
            ": session mode needs a pre-shared key; give --psk-file PATH (make a key with porthop genkey)");
    }
    rows([&](const Spec& spec) {
        if (spec.read != nullptr && spec.phase == Phase::address) spec.read(v, spec.name, o);
    });
    // Paths on one port would be one flow: the cap they are meant to get past.
    if (o.role == Role::client && o.paths > o.server_ports.ports.size()) {
        throw ConfigError(label("paths", *v.get("paths")) + ": " + std::to_string(o.paths) +
                          " concurrent flows need as many ports, and --server's set has " +
                          std::to_string(o.server_ports.ports.size()) + "; give fewer paths or more ports");
    }
    return o;
}

ProbeOptions validate_probe(const RawOptions& raw) {
    Validator v(kProbe, raw);
    ProbeOptions o;
    (void)v.required("server");
    const RawValue& psk = v.required("psk-file");
    if (psk.text.empty()) throw ConfigError("--psk-file: the path is empty; give the key file's path");
    o.psk_file = psk.text;
    if (auto d = v.duration("duration")) {
        if (*d < Duration(5'000) || *d > Duration(3'600'000)) {
            throw ConfigError("--duration: " + format_duration(*d) + " is out of range; use 5s to 1h, e.g. 60s");
        }
        o.duration = *d;
    }
    if (const RawValue* r = v.get("rate")) {
        auto rate = parse_rate(r->text);
        if (!rate) {
            throw ConfigError(
                "--rate: " + quote(r->text) +
                " is not a rate; use a whole number and a unit: kbit, mbit, kB or MB (a second), e.g. 8mbit");
        }
        if (*rate < 12'500 || *rate > 12'500'000) {
            throw ConfigError("--rate: " + r->text + " is out of range; use 100kbit to 100mbit");
        }
        o.rate = static_cast<uint32_t>(*rate);
    }
    o.json = v.flag("json");
    if (auto level = v.log_level()) o.log_level = *level;
    std::tie(o.server_ip, o.server_ports) = v.host_port_set("server", true, "vps.example.com:20000-20999");
    return o;
}

StatusOptions validate_status(const RawOptions& raw) {
    Validator v(kStatus, raw);
    StatusOptions o;
    (void)v.required("metrics");
    o.metrics = *v.addr_port("metrics", "127.0.0.1:9101");
    o.json = v.flag("json");
    return o;
}

}  // namespace porthop::config
