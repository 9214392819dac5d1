// The command line: the input split at NUL bytes into arguments after
// "porthop", given to config::parse_command_line. The only exception allowed
// out is ConfigError (main turns it into exit status 2); anything else would
// terminate porthop. A successful parse must give consistent Options.
#include <cstdint>
#include <string>
#include <vector>

#include "config/parse.hpp"
#include "fuzz_common.hpp"
#include "fuzz_options_check.hpp"

using namespace porthop;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    constexpr size_t kMaxArgs = 64;
    std::vector<std::string> args{"porthop"};
    std::string current;
    for (size_t i = 0; i < size && args.size() < kMaxArgs; ++i) {
        if (data[i] == 0) {
            args.push_back(std::move(current));
            current.clear();
        } else {
            current.push_back(static_cast<char>(data[i]));
        }
    }
    if (!current.empty() && args.size() < kMaxArgs) args.push_back(std::move(current));
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    try {
        auto command = config::parse_command_line(static_cast<int>(args.size()), argv.data());
        porthop_fuzz::check_command(command);
    } catch (const config::ConfigError& e) {
        FUZZ_CHECK(std::string(e.what()).find('\n') == std::string::npos);  // one line (docs/design.md, "The contract")
    }
    return 0;
}
