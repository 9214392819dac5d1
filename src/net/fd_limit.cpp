#include "net/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace porthop::net {

FdLimit raise_fd_limit(size_t needed) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {};
    if (lim.rlim_cur < needed && lim.rlim_cur < lim.rlim_max) {
        rlimit raised = lim;
        raised.rlim_cur = std::min<rlim_t>(lim.rlim_max, needed);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
    }
    return {static_cast<size_t>(lim.rlim_cur), static_cast<size_t>(lim.rlim_max)};
}

}  // namespace porthop::net
