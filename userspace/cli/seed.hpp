// SPDX-License-Identifier: GPL-2.0
// Re-enactments of the seed articles' programs against /dev/mmapdemo. Each
// narrates what every process does and sees, checks that it happened as
// documented, and returns the exit status: 0 when every check held, else 1.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace mmapdemo::cli {

// Map the buffer shared, print it, change the byte at offset 20, msync(),
// munmap(): read() sees the change.
int seed_shared_write(const std::string& path);

// The same through MAP_PRIVATE (the fault strategy; remap refuses it): the
// process sees its own copy, the device does not change.
int seed_private_write(const std::string& path);

// A parent maps the device, forks, and the child reads the parent's message
// from the inherited mapping and writes a reply the parent reads.
int seed_parent_child(const std::string& path);

enum class Role { a, b };

// Process A maps the device and starts B (this program again, fork+exec),
// which maps it on its own, writes a message and rings the doorbell; A,
// asleep in poll() until then, wakes and reads the message.
int seed_two_process(const std::string& path, Role role, std::chrono::milliseconds timeout);

// Where a mapping of a regular file raises SIGBUS and SIGSEGV, then the
// device's own limits.
int seed_bounds(const std::string& path);

struct TimingOptions {
  std::size_t ints = 10000;
  int repeat = 5;
};

// read() + 1 + write() against mmap() + 1 + munmap(), on the device and on a
// regular file, with the times of each run and their medians.
int seed_read_vs_mmap(const std::string& path, const TimingOptions& options);

}  // namespace mmapdemo::cli
