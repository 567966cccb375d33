// SPDX-License-Identifier: GPL-2.0
// The benchmark parts. Each compares every variant that exists on this
// machine (each strategy the driver accepts, on its loaded backend, next to
// anonymous memory, a memfd, a pipe, a socket) and adds rows to Results.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <mmapdemo/mmapdemo.hpp>

#include "harness.hpp"

namespace mmapdemo::bench {

struct Config {
  std::string device;  // empty: no device, the user-space baselines only (host calibration)
  int reps = 10;
  std::vector<Strategy> strategies;  // what the loaded driver accepts
  std::string backend;               // of the loaded driver
  std::size_t device_size = 0;       // its buffer
  int max_procs = 4;                 // process scaling goes 1, 2, 4 ... up to this
};

void bandwidth(Results& results, const Config& config);
void first_touch(Results& results, const Config& config);
void seed_002(Results& results, const Config& config);
void ipc(Results& results, const Config& config);
void scaling(Results& results, const Config& config);

// Sizes of a sweep the device can take part in; says in the notes which it
// cannot (the kmalloc backend stops at 4 MiB) instead of dropping them quietly.
[[nodiscard]] std::vector<std::size_t> device_sizes(Results& results, const Config& config,
                                                    const std::string& part,
                                                    const std::vector<std::size_t>& wanted);

}  // namespace mmapdemo::bench
