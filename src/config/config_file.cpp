#include "config/config_file.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "config/messages.hpp"
#include "config/option_table.hpp"
#include "config/parse.hpp"

namespace porthop::config {

namespace {

std::string read_file(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) {
        throw ConfigError("--config: cannot read " + quote(path) + ": " + std::strerror(errno) +
                          "; give the path of a readable JSON file");
    }
    std::string text;
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, file.get())) > 0) {
        text.append(buf, n);
        if (text.size() > (1u << 20)) {
            throw ConfigError("--config: " + quote(path) +
                              " is larger than 1 MiB; give a small JSON object of options");
        }
    }
    if (std::ferror(file.get())) {
        throw ConfigError("--config: cannot read " + quote(path) + ": " + std::strerror(errno) +
                          "; give the path of a readable JSON file");
    }
    return text;
}

}  // namespace

void load_config_file(const std::string& path, unsigned role, RawOptions& raw) {
    const std::string where = "--config " + quote(path);
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
        // "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
        // (or out_of_range.406 for a number such as 1e400)
        std::string message = e.what();
        if (auto end = message.find("] "); message.rfind("[json.exception", 0) == 0 && end != std::string::npos) {
            message.erase(0, end + 2);
        }
        throw ConfigError(where + ": invalid JSON: " + one_line(message) + "; fix the file");
    }
    if (!doc.is_object()) {
        throw ConfigError(where + ": must hold a JSON object such as {\"listen\": \"0.0.0.0:4433\"}, not " +
                          std::string(doc.type_name()));
    }

    for (const auto& [key, value] : doc.items()) {
        const std::string at = where + ": key " + quote(key);
        if (key == "config") throw ConfigError(at + ": a config file cannot name another config file; remove the key");
        const Spec* spec = find_spec(key, role);
        if (spec == nullptr) {
            if (const char* owner = other_role_owning(key, role)) {
                throw ConfigError(at + " is a " + owner + " option; porthop " + role_name(role) +
                                  " does not take it, remove it");
            }
            throw ConfigError(at + " is not a porthop option; keys are the long option names, see porthop " +
                              role_name(role) + " --help");
        }

        std::string text;
        switch (spec->kind) {
            case Kind::text:
                if (!value.is_string()) {
                    throw ConfigError(at + " must be a string such as \"" + spec->value_name + "\", not " +
                                      value.dump());
                }
                text = value.get<std::string>();
                break;
            case Kind::count:
                if (value.is_number_unsigned()) {
                    text = std::to_string(value.get<uint64_t>());
                } else if (value.is_number_integer()) {
                    text = std::to_string(value.get<int64_t>());  // negative: validation rejects it
                } else if (value.is_string()) {
                    text = value.get<std::string>();
                } else {
                    throw ConfigError(at + " must be a whole number, not " + value.dump());
                }
                break;
            case Kind::flag:
                if (!value.is_boolean()) throw ConfigError(at + " must be true or false, not " + value.dump());
                text = value.get<bool>() ? "true" : "false";
                break;
        }
        raw.try_emplace(key, RawValue{std::move(text), path});
    }
}

}  // namespace porthop::config
