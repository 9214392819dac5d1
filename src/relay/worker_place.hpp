#pragma once
// Where a server relay stands among the workers of one process (--workers):
// its index (its sockets are at this index of every port's SO_REUSEPORT
// group), how many there are, and the state file they share.

#include <cstdint>

namespace porthop::relay {

class SharedStateFile;

struct WorkerPlace {
    uint32_t index = 0;
    uint32_t count = 1;
    SharedStateFile* state = nullptr;  // null: the relay reads and writes --state-file itself
};

}  // namespace porthop::relay
