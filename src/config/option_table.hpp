#pragma once
// The one table of porthop's options (docs/design.md, "Options and reload"): one
// row per (option, roles). A row gives the long name (also the option's key
// in the JSON config file), its roles, what kind of value it takes, its
// --help text, what a SIGHUP may do with it, and how its value is checked
// and stored. The command line, the config file reader, validation, --help
// and the reload all read this table; adding an
// option is its Options field and its row here (and the man page).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/options.hpp"

namespace porthop::config {

enum RoleMask : unsigned {
    kClient = 1u << 0,
    kServer = 1u << 1,
    kRelays = kClient | kServer,
    kProbe = 1u << 2,
    kStatus = 1u << 3,
};

enum class Kind {
    text,   // JSON string
    count,  // JSON integer (or a string of digits)
    flag,   // JSON boolean; on the command line a flag without a value
};

// What a SIGHUP that changes the option does.
enum class Reload {
    none,     // not an option of a running relay (probe options, --config itself)
    restart,  // refused: it needs a restart (sockets, keys, the mode)
    process,  // applied by the process itself (the log level)
    relay,    // applied by the relay to new hops and sessions (Relay::apply_runtime_options)
};

class Validator;

// Checks a relay option's raw value, when given, and stores it in Options
// (nullptr for probe options: validate_probe reads those).
using Read = void (*)(const Validator& v, std::string_view name, Options& o);

// Addresses are read after every other value, so that a typo in a flag is
// reported without waiting for a resolver.
enum class Phase { value, address };

// How a relay option is read out of Options and copied between two of them
// (both null for Reload::none).
struct Field {
    std::string (*text)(const Options&) = nullptr;  // the value as a reload log line shows it
    void (*copy)(Options& to, const Options& from) = nullptr;
};

struct Spec {
    const char* name;
    unsigned roles;
    Kind kind;
    const char* value_name;  // placeholder shown in --help
    const char* help;
    Reload reload;
    Field field;
    Read read = nullptr;
    Phase phase = Phase::value;
    bool required = false;
};

std::span<const Spec> option_table();
const Spec* find_spec(std::string_view name, unsigned role);
const char* role_name(unsigned role);
// "upstream" is a server option, "hop-interval" a client one: for messages
// about an option given to the wrong role; nullptr when no other relay role
// takes it.
const char* other_role_owning(std::string_view name, unsigned role);
unsigned role_mask(Role role);

// One relay option whose value differs between two Options of the same role.
struct OptionDifference {
    std::string option;  // long option name, "hop-interval"
    std::string from;
    std::string to;
    Reload reload;
};
// In table order.
std::vector<OptionDifference> differences(const Options& running, const Options& reread);

// Copies every Reload::relay option of `from` into `to`, nothing else.
void copy_relay_runtime_options(Options& to, const Options& from);

}  // namespace porthop::config
