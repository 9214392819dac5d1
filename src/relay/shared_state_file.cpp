#include "relay/shared_state_file.hpp"

namespace porthop::relay {

SharedStateFile::SharedStateFile(std::string path, size_t workers, const Owner& owner)
    : path_(std::move(path)),
      restored_(workers),
      shares_(workers) {
    for (SavedSession& s : read_session_state(path_)) {
        size_t w = owner(s);
        if (w < workers) restored_[w].push_back(s);
    }
    // Until a worker saves, the file keeps what it had for it: a worker that
    // writes first must not drop the others' sessions.
    shares_ = restored_;
}

bool SharedStateFile::write(size_t worker, std::vector<SavedSession> sessions) {
    std::lock_guard lock(mutex_);
    shares_[worker] = std::move(sessions);
    std::vector<SavedSession> all;
    for (const auto& share : shares_) all.insert(all.end(), share.begin(), share.end());
    return write_session_state(path_, all);
}

}  // namespace porthop::relay
