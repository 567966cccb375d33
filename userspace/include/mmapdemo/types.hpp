// SPDX-License-Identifier: GPL-2.0
// Vocabulary of /dev/mmapdemo: strategies, backends and what GET_INFO reports.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include <mmapdemo.h>

namespace mmapdemo {

inline constexpr std::string_view default_path{"/dev/mmapdemo"};

// How mmap() installs page table entries for the buffer (per open file).
enum class Strategy : std::uint32_t {
  remap = MMAPDEMO_STRATEGY_REMAP,              // all at mmap() time, page frames
  fault = MMAPDEMO_STRATEGY_FAULT,              // one page per first access
  faultaround = MMAPDEMO_STRATEGY_FAULTAROUND,  // a read fault maps its neighbours too
  prefault = MMAPDEMO_STRATEGY_PREFAULT,        // all pages at mmap() time, in batches
  huge = MMAPDEMO_STRATEGY_HUGE,                // one entry per 2 MiB chunk where possible
};

// One row per strategy, as the driver's table has it: the value, its name
// (module parameter, sysfs, the CLI) and whether it maps struct pages.
// Page-based strategies map struct pages: MAP_PRIVATE is copy-on-write, and
// kernel paths that pin user pages (process_vm_readv, vmsplice, O_DIRECT,
// MADV_POPULATE_*) work on the mapping. The others map page frames:
// MAP_SHARED only, and those paths fail (ptrace and /proc/<pid>/mem work).
struct StrategyInfo {
  Strategy value;
  std::string_view name;
  bool maps_pages;
};

inline constexpr std::array strategy_table{
    StrategyInfo{Strategy::remap, "remap", false},
    StrategyInfo{Strategy::fault, "fault", true},
    StrategyInfo{Strategy::faultaround, "faultaround", true},
    StrategyInfo{Strategy::prefault, "prefault", true},
    StrategyInfo{Strategy::huge, "huge", false},
};

inline constexpr auto all_strategies = [] {
  std::array<Strategy, strategy_table.size()> values{};
  for (std::size_t i = 0; i < values.size(); ++i) values.at(i) = strategy_table.at(i).value;
  return values;
}();

// The table's row of strategy; nullptr for values the uapi does not define.
[[nodiscard]] constexpr const StrategyInfo* strategy_info(Strategy strategy) noexcept {
  for (const auto& row : strategy_table) {
    if (row.value == strategy) return &row;
  }
  return nullptr;
}

[[nodiscard]] constexpr bool maps_pages(Strategy strategy) noexcept {
  const auto* const row = strategy_info(strategy);
  return row != nullptr && row->maps_pages;
}

// Where the buffer's memory comes from (module parameter "backend").
enum class Backend : std::uint32_t {
  kmalloc = MMAPDEMO_BACKEND_KMALLOC,  // physically contiguous
  vmalloc = MMAPDEMO_BACKEND_VMALLOC,  // virtually contiguous
  chunked = MMAPDEMO_BACKEND_CHUNKED,  // physically contiguous, aligned 2 MiB chunks
};

inline constexpr std::array all_backends{Backend::kmalloc, Backend::vmalloc, Backend::chunked};

struct Info {
  std::uint64_t size;       // bytes, a multiple of page_size
  std::uint32_t page_size;  // the kernel's
  Backend backend;
  Strategy strategy;          // of the file that was asked
  Strategy default_strategy;  // a newly opened file starts with

  friend bool operator==(const Info&, const Info&) = default;
};

// "remap", "fault", ..., "kmalloc", ...; "unknown" for values the uapi does not define.
[[nodiscard]] std::string_view to_string(Strategy strategy) noexcept;
[[nodiscard]] std::string_view to_string(Backend backend) noexcept;

[[nodiscard]] std::optional<Strategy> parse_strategy(std::string_view name) noexcept;
[[nodiscard]] std::optional<Backend> parse_backend(std::string_view name) noexcept;

}  // namespace mmapdemo
