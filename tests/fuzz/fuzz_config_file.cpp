// The --config file: the input (after one control byte) is written to a
// memfd and parsed as `porthop client|server --config /proc/self/fd/N`,
// sometimes with a flag that the file's value must yield to. Only ConfigError
// may escape; a successful parse must give consistent Options.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/parse.hpp"
#include "fuzz_common.hpp"
#include "fuzz_options_check.hpp"

using namespace porthop;

namespace {
int g_memfd = -1;
std::string g_path;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    porthop_fuzz::setup();
    g_memfd = memfd_create("porthop-fuzz-config", MFD_CLOEXEC);
    if (g_memfd < 0) {
        std::perror("memfd_create");
        std::abort();
    }
    g_path = "/proc/self/fd/" + std::to_string(g_memfd);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t control = data[0];
    if (ftruncate(g_memfd, 0) != 0) std::abort();
    size_t off = 0;
    while (off < size - 1) {
        ssize_t n = pwrite(g_memfd, data + 1 + off, size - 1 - off, static_cast<off_t>(off));
        if (n <= 0) std::abort();
        off += static_cast<size_t>(n);
    }
    std::vector<const char*> argv{"porthop", (control & 1) ? "server" : "client", "--config", g_path.c_str()};
    // Flags override the file: give one now and then.
    switch ((control >> 1) & 3) {
        case 1: argv.insert(argv.end(), {"--max-sessions", "7"}); break;
        case 2: argv.insert(argv.end(), {"--idle-timeout", "5s"}); break;
        case 3:
            argv.insert(argv.end(), {"--listen", (control & 1) ? "127.0.0.1:20000-20001" : "127.0.0.1:4433"});
            break;
        default: break;
    }
    argv.push_back(nullptr);
    try {
        auto command = config::parse_command_line(static_cast<int>(argv.size() - 1), argv.data());
        porthop_fuzz::check_command(command);
    } catch (const config::ConfigError& e) {
        FUZZ_CHECK(std::string(e.what()).find('\n') == std::string::npos);  // one line (docs/design.md, "The contract")
    }
    return 0;
}
