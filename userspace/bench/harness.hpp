// SPDX-License-Identifier: GPL-2.0
// The benchmark harness: memory regions to compare against, a clock, the
// interleaved repetition loop, and the results every part adds to.
//
// Our own harness rather than Google Benchmark: the guests have no C library,
// so their binaries are static, and Debian's libbenchmark is shared-only;
// most figures also need a fresh mapping, a fork() or a module reload per
// sample, and every variant has to be measured interleaved with its baseline
// within one repetition so that the ratio cancels TCG's drift.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <mmapdemo/base/fd.hpp>
#include <mmapdemo/base/region.hpp>
#include <mmapdemo/mmapdemo.hpp>

#include "stats.hpp"

namespace mmapdemo::bench {

inline constexpr std::size_t KiB = 1024;
inline constexpr std::size_t MiB = 1024 * KiB;

// "64 KiB", "4 MiB".
[[nodiscard]] std::string size_label(std::size_t bytes);

// CLOCK_MONOTONIC in nanoseconds: comparable between processes.
[[nodiscard]] std::int64_t now_ns() noexcept;

// Minor faults of this process so far (getrusage ru_minflt).
[[nodiscard]] std::int64_t minor_faults();

// Keeps the compiler from dropping a computation whose result is unused.
template <class T>
inline void keep(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

// Owner of an anonymous or memfd mapping (not the device: that is
// mmapdemo::Mapping). Throws std::system_error on failure.
class Region : public base::Region {
 public:
  Region() noexcept = default;
  explicit Region(base::Region&& region) noexcept : base::Region{std::move(region)} {}

  // MAP_PRIVATE | MAP_ANONYMOUS, populated (every page present) when asked.
  [[nodiscard]] static Region anonymous(std::size_t size, bool populate);
  // The same with MADV_NOHUGEPAGE: 4 KiB pages whatever the THP setting.
  [[nodiscard]] static Region anonymous_small_pages(std::size_t size);
  // MAP_SHARED | MAP_ANONYMOUS: survives fork() shared, like a device mapping.
  [[nodiscard]] static Region shared_anonymous(std::size_t size);
  // MAP_SHARED of fd (a memfd), populated when asked.
  [[nodiscard]] static Region of_fd(int fd, std::size_t size, bool populate);
};

// Owner of a file descriptor (memfd, pipe end, socket).
using Fd = base::UniqueFd;

// A memfd of size bytes, every page allocated (so that mapping it later
// costs what mapping the device's existing buffer costs: no allocation).
[[nodiscard]] Fd make_memfd(std::size_t size);

// A page-aligned region and whatever owns it.
struct Memory {
  std::span<std::byte> bytes;
  std::function<void()> release;  // empty when nothing needs releasing early
};

// The strategies the loaded driver accepts, probed with SET_STRATEGY on a
// fresh file per candidate value, so that strategies added to the driver are
// benchmarked without a change here.
[[nodiscard]] std::vector<Strategy> probe_strategies(const std::string& path);

// The name of a strategy, also for values this library does not know yet.
[[nodiscard]] std::string strategy_name(Strategy strategy);

// A fresh file of the device with strategy set (before its first mmap()).
[[nodiscard]] Device open_with(const std::string& path, Strategy strategy);

// One figure of one variant, e.g. bandwidth/sum/kmalloc/remap at 4 MiB.
struct Row {
  std::string part;     // bandwidth, first-touch, mmap-only, seed-002, ipc, scaling
  std::string op;       // sum, memcpy, touch, ping-pong, ...
  std::string backend;  // the device's, or "" for user-space-only variants
  std::string variant;  // remap, fault, anon, memfd, pipe, ...
  std::uint64_t size = 0;
  std::string unit;  // GB/s, ns/page, faults/page, us, msgs/s, pages/s
  Summary value;
  std::string baseline;  // variant the ratio is relative to; "" for none
  std::optional<Summary> ratio;
  // Ratios of the same figure to further variants of the comparison (e.g.
  // remap and fault in the strategy ablation), by their names.
  std::vector<std::pair<std::string, Summary>> more_ratios;
  bool higher_is_better = true;
};

// Everything a run measured, plus notes the report prints verbatim.
struct Results {
  std::vector<Row> rows;
  std::vector<std::string> notes;
};

// One variant of a comparison: sample() measures one repetition and returns
// its figures, by name of unit (e.g. {"ns/page", 812.0}, {"faults/page", 1}).
struct Variant {
  std::string name;
  std::string backend;
  std::function<std::vector<std::pair<std::string, double>>()> sample;
};

// Progress on stderr, one line per step; the host script shows the latest.
void progress(const std::string& what);

struct Comparison {
  std::string part;
  std::string op;
  std::uint64_t size = 0;
  std::string baseline;  // name of the baseline variant ("" for none)
  bool higher_is_better = true;
  // Further variants to divide the first unit by, where they take part.
  std::vector<std::string> also_vs = {};
};

// Runs every variant reps times, interleaved (each repetition runs every
// variant once, starting at a rotating position so no variant always runs
// first), and adds one Row per variant and unit, with the ratio of the first
// unit to the baseline's per repetition (and to each also_vs variant's).
// Returns the samples of the first unit, per variant.
std::vector<std::vector<double>> compare(Results& results, const Comparison& what,
                                         std::vector<Variant>& variants, int reps);

}  // namespace mmapdemo::bench
