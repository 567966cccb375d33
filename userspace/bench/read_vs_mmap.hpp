// SPDX-License-Identifier: GPL-2.0
// Seed article 002's experiment, timed by mmapdemo-bench's seed-002 part and
// by the CLI's seed read-vs-mmap alike: add one to each int of a file with
// open(), read(), a loop, a write back in place and close(), against open(),
// mmap(), the same loop through the mapping, munmap() and close().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <mmapdemo/types.hpp>

namespace mmapdemo::bench {

// The article's ints, as unsigned: the same four-byte load, add and store,
// but one added to the largest wraps to 0 where a signed int's overflow is
// undefined (the buffer may hold anything).
using Int = std::uint32_t;

// Adds one to each whole Int of bytes, in place.
void add_one(std::span<std::byte> bytes);

// One run of the article's first half over the first bytes of path (the
// device, or a regular file at least that long): a fresh buffer, the ints
// read into it, one added to each, written back in place (a plain write()
// after the read() would go on after them). Throws std::system_error.
void add_one_by_read(const std::string& path, std::size_t bytes);
// And of its second half, through a mapping of a file that first gets
// strategy, when one is given (the device's files only).
void add_one_by_mmap(const std::string& path, std::size_t bytes,
                     std::optional<Strategy> strategy = std::nullopt);

// Calls f runs times: the microseconds a call took on average, by the
// monotonic clock.
template <class F>
[[nodiscard]] double micros_per_run(std::size_t runs, F&& f) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (std::size_t i = 0; i < runs; ++i) f();
  const std::chrono::duration<double, std::micro> took = clock::now() - start;
  return took.count() / static_cast<double>(runs);
}

}  // namespace mmapdemo::bench
