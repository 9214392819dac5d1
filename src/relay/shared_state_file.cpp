#include "relay/shared_state_file.hpp"

namespace porthop::relay {

SharedStateFile::SharedStateFile(std::string path, StateFile state, size_t workers, const Owner& owner)
    : path_(std::move(path)),
      state_(std::move(state)),
      restored_(workers),
      shares_(workers) {
    for (SavedSession& s : state_.sessions) {
        size_t w = owner(s);
        if (w < workers) restored_[w].push_back(s);
    }
    state_.sessions.clear();
    // Until a worker saves, the file keeps what it had for it: a worker that
    // writes first must not drop the others' sessions.
    shares_ = restored_;
}

bool SharedStateFile::write(size_t worker, std::vector<SavedSession> sessions) {
    std::lock_guard lock(mutex_);
    shares_[worker] = std::move(sessions);
    state_.sessions.clear();
    for (const auto& share : shares_) state_.sessions.insert(state_.sessions.end(), share.begin(), share.end());
    return write_state_file(path_, state_);
}

}  // namespace porthop::relay
