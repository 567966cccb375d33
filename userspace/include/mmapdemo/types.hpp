// SPDX-License-Identifier: GPL-2.0
// Vocabulary of /dev/mmapdemo: strategies, backends and what GET_INFO reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <mmapdemo.h>

namespace mmapdemo {

inline constexpr std::string_view default_path{"/dev/mmapdemo"};

// How mmap() installs page table entries for the buffer (per open file).
enum class Strategy : std::uint32_t {
  remap = MMAPDEMO_STRATEGY_REMAP,  // all at mmap() time; MAP_SHARED only
  fault = MMAPDEMO_STRATEGY_FAULT,  // one page per first access; MAP_PRIVATE is copy-on-write
};

// Where the buffer's memory comes from (module parameter "backend").
enum class Backend : std::uint32_t {
  kmalloc = MMAPDEMO_BACKEND_KMALLOC,
  vmalloc = MMAPDEMO_BACKEND_VMALLOC,
};

struct Info {
  std::uint64_t size;       // bytes, a multiple of page_size
  std::uint32_t page_size;  // the kernel's
  Backend backend;
  Strategy strategy;          // of the file that was asked
  Strategy default_strategy;  // a newly opened file starts with

  friend bool operator==(const Info&, const Info&) = default;
};

// "remap", "fault", "kmalloc", "vmalloc"; "unknown" for values the uapi does not define.
[[nodiscard]] std::string_view to_string(Strategy strategy) noexcept;
[[nodiscard]] std::string_view to_string(Backend backend) noexcept;

[[nodiscard]] std::optional<Strategy> parse_strategy(std::string_view name) noexcept;
[[nodiscard]] std::optional<Backend> parse_backend(std::string_view name) noexcept;

}  // namespace mmapdemo
