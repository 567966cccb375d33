// SPDX-License-Identifier: GPL-2.0
// The subcommands of mmapdemo that look at and change the buffer. Each
// returns the exit status and throws std::system_error for a failed call
// (its message names the call and the device).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace mmapdemo::cli {

int info(const std::string& path);

struct ReadOptions {
  std::uint64_t offset = 0;
  std::uint64_t length = 256;
  bool raw = false;  // the bytes themselves rather than a hexdump
};
int read(const std::string& path, const ReadOptions& options);

struct WriteOptions {
  std::uint64_t offset = 0;
  std::optional<std::string> data;  // none: standard input
  bool ring = false;                // ring the doorbell once written
};
int write(const std::string& path, const WriteOptions& options);

struct FillOptions {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // none: to the end of the buffer
  std::optional<std::uint64_t> byte;    // exactly one of byte and pattern
  std::optional<std::string> pattern;
  bool ring = false;
};
int fill(const std::string& path, const FillOptions& options);

struct WatchOptions {
  std::uint64_t offset = 0;
  std::uint64_t length = 64;
  std::uint64_t count = 0;  // rings to wait for; 0: no limit
  std::optional<std::chrono::milliseconds> timeout;
  bool hex = false;
};
int watch(const std::string& path, const WatchOptions& options);

int ring(const std::string& path, std::uint64_t count);

// MMAPDEMO_IOC_RESIZE: the new size in bytes, rounded up to whole pages.
int resize(const std::string& path, std::uint64_t size);

}  // namespace mmapdemo::cli
