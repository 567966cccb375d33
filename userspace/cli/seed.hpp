// SPDX-License-Identifier: GPL-2.0
// Re-enactments of the seed scenarios against /dev/mmapdemo.
#pragma once

#include <chrono>
#include <string>

namespace mmapdemo::cli {

enum class Role { a, b };

// The two-process IPC example: A maps the device and starts B (this binary,
// fork+exec), which maps it on its own and writes a message; A, checking its
// mapping every 100 ms, reports what it sees. Returns the exit status.
int seed_two_process(const std::string& path, Role role, std::chrono::milliseconds timeout);

}  // namespace mmapdemo::cli
