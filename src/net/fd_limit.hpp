#pragma once
// The process's open-file limit (RLIMIT_NOFILE): the server relay needs one
// descriptor per port of the set, and each session one more.

#include <cstddef>

namespace porthop::net {

struct FdLimit {
    size_t soft = 0;
    size_t hard = 0;
};

// Raises the soft limit towards `needed`, as far as the hard limit allows,
// and returns the limits in force afterwards.
FdLimit raise_fd_limit(size_t needed);

}  // namespace porthop::net
