// The command line (docs/design.md, "The contract"): CLI11 glue. Every
// subcommand's options come from the option table (option_table.hpp); what
// the user gave becomes raw option text, the --config file fills in the rest
// (config_file.hpp), and validate.hpp turns it into Options.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "config/config_file.hpp"
#include "config/messages.hpp"
#include "config/option_table.hpp"
#include "config/parse.hpp"
#include "config/raw_options.hpp"
#include "config/validate.hpp"

namespace porthop::config {

namespace {

struct Subcommand {
    CLI::App* app;
    unsigned role;
    std::vector<std::pair<const Spec*, CLI::Option*>> options;
};

constexpr const char* kFooter =
    "DURATION: a whole number and a unit: 250ms, 10s, 2m, 1h.\n"
    "PORTSET: a range or a comma list of ports and ranges: 20000-20999, 20000-20099,20500.\n"
    "ADDR: an IP address, IPv6 in brackets: 10.0.0.1, [::1], 0.0.0.0, [::]. HOST: an ADDR or a DNS name.\n"
    "Invalid input exits with status 2.";

std::string command_of(const CLI::App& app) {
    auto subs = app.get_subcommands();
    return subs.empty() ? "porthop" : "porthop " + subs.front()->get_name();
}

// The first argument CLI11 could not place, as a one-line error.
[[noreturn]] void reject_extra(const std::string& command, unsigned role, const std::string& arg) {
    if (arg.size() > 1 && arg.front() == '-') {
        std::string raw_name = arg.substr(0, arg.find('='));
        size_t first = raw_name.find_first_not_of('-');
        std::string bare = first == std::string::npos ? std::string() : raw_name.substr(first);
        // Quoted when it holds anything unprintable, so the message stays one line.
        bool plain =
            std::all_of(raw_name.begin(), raw_name.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
        std::string name = plain ? raw_name : quote(raw_name);
        if (role != 0) {
            if (const char* owner = other_role_owning(bare, role)) {
                throw ConfigError(name + ": is a " + owner + " option; " + command + " does not take it");
            }
        } else if (command == "porthop" && find_spec(bare, kRelays) != nullptr) {
            throw ConfigError(name + ": options go after the command, e.g. porthop client " + name + " ...");
        }
        throw ConfigError(name + ": unknown option for " + command + "; see " + command + " --help");
    }
    if (role == 0 && command == "porthop") {
        throw ConfigError(
            quote(arg) +
            ": unknown command; use porthop client, porthop server, porthop probe, porthop status or porthop genkey");
    }
    throw ConfigError(quote(arg) + ": unexpected argument for " + command + "; see " + command + " --help");
}

}  // namespace

Command parse_command_line(int argc, const char* const* argv) {
    CLI::App app{"porthop: UDP relays that spread one long UDP flow (QUIC) over many short ones.", "porthop"};
    app.allow_extras();
    app.footer(kFooter);
    bool version = false;
    app.add_flag("--version", version, "Print the version and exit");

    std::vector<Subcommand> relays;
    for (auto [role, name, description] :
         {std::tuple{kClient, "client",
                     "Run the client relay: one downstream socket, sessions hop over the server's ports"},
          std::tuple{kServer, "server", "Run the server relay: listen on every port of the set, relay to the upstream"},
          std::tuple{kProbe, "probe",
                     "Measure whether the path to a server relay (session mode) throttles long UDP flows, "
                     "and recommend --hop-interval / --hop-bytes"},
          std::tuple{kStatus, "status",
                     "Show a running relay's sessions (asks its --metrics endpoint): ports, bytes, rates, hops"}}) {
        Subcommand sub{app.add_subcommand(name, description), role, {}};
        sub.app->allow_extras();
        sub.app->footer(kFooter);
        for (const Spec& spec : option_table()) {
            if ((spec.roles & role) == 0) continue;
            const std::string flag = std::string("--") + spec.name;
            CLI::Option* opt = spec.kind == Kind::flag
                                   ? sub.app->add_flag(flag, spec.help)
                                   : sub.app->add_option(flag, spec.help)->type_name(spec.value_name);
            // Repeats are reported below, in our words, rather than by CLI11.
            opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
            sub.options.emplace_back(&spec, opt);
        }
        relays.push_back(std::move(sub));
    }
    CLI::App* genkey = app.add_subcommand("genkey", "Print a new session-mode key and exit");
    genkey->allow_extras();

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForAllHelp&) {
        return Help{app.help("", CLI::AppFormatMode::All)};
    } catch (const CLI::CallForHelp&) {
        return Help{app.help()};
    } catch (const CLI::ParseError& e) {
        const std::string command = command_of(app);
        throw ConfigError(one_line(e.what()) + "; see " + command + " --help");
    }

    if (!app.remaining().empty()) reject_extra("porthop", 0, app.remaining().front());
    if (version) return Version{std::string("porthop ") + PORTHOP_VERSION};
    if (genkey->parsed()) {
        if (!genkey->remaining().empty()) reject_extra("porthop genkey", 0, genkey->remaining().front());
        return GenKey{};
    }
    for (const Subcommand& sub : relays) {
        if (!sub.app->parsed()) continue;
        const std::string command = std::string("porthop ") + sub.app->get_name();
        if (!sub.app->remaining().empty()) reject_extra(command, sub.role, sub.app->remaining().front());

        RawOptions raw;
        for (const auto& [spec, opt] : sub.options) {
            if (opt->count() == 0) continue;
            if (opt->count() > 1 && spec->kind != Kind::flag) {
                throw ConfigError(std::string("--") + spec->name + ": given " + std::to_string(opt->count()) +
                                  " times; give it once");
            }
            std::string text;
            if (spec->kind == Kind::flag) {
                // "--hop-on-slowdown=false" is allowed; "=maybe" is not.
                bool on = false;
                try {
                    on = opt->as<bool>();
                } catch (const CLI::Error&) {
                    throw ConfigError(std::string("--") + spec->name + ": " + quote(opt->results().back()) +
                                      " is not true or false; give the flag alone to turn it on");
                }
                text = on ? "true" : "false";
            } else {
                text = opt->as<std::string>();
            }
            raw[spec->name] = RawValue{std::move(text), ""};
        }
        if (sub.role == kProbe) return RunProbe{validate_probe(raw)};
        if (sub.role == kStatus) return ShowStatus{validate_status(raw)};
        if (auto it = raw.find("config"); it != raw.end()) load_config_file(it->second.text, sub.role, raw);
        return RunRelay{validate(sub.role, raw)};
    }
    throw ConfigError(
        "no command given; use porthop client, porthop server, porthop probe, porthop status or porthop genkey (see "
        "porthop --help)");
}

}  // namespace porthop::config
