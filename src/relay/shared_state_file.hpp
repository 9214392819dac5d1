#pragma once
// One --state-file for the server relay's workers (--workers): read once at
// start and shared out by the worker the kernel will steer each session's
// datagrams to; each worker then hands in its own sessions, and the file is
// rewritten with every worker's latest share. Only when a worker saves (a new
// session, at most ten times a second, its sweep, or a session-mode send
// counter near its saved margin) does it take the mutex: never per datagram.

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "relay/session_state_file.hpp"

namespace porthop::relay {

class SharedStateFile {
public:
    // Which worker a saved session belongs to (< workers).
    using Owner = std::function<size_t(const SavedSession&)>;

    // Takes `state` (as read at start) apart by owner.
    SharedStateFile(std::string path, StateFile state, size_t workers, const Owner& owner);

    // The sessions of `worker` as read at start.
    const std::vector<SavedSession>& restored(size_t worker) const { return restored_[worker]; }
    uint64_t generation() const { return state_.generation; }
    // Replaces `worker`'s share and rewrites the file; false with errno set
    // when it cannot be written.
    bool write(size_t worker, std::vector<SavedSession> sessions);

private:
    std::string path_;
    StateFile state_;  // the role, mode and generation; sessions rebuilt at each write
    std::vector<std::vector<SavedSession>> restored_;
    std::mutex mutex_;
    std::vector<std::vector<SavedSession>> shares_;
};

}  // namespace porthop::relay
