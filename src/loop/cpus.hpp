#pragma once
// How many CPUs this process may run on (its affinity mask: taskset, a
// systemd CPUAffinity= or a container's cpuset), for --workers auto.

#include <cstdint>

namespace porthop::loop {

uint32_t usable_cpus();

}  // namespace porthop::loop
