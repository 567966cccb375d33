// SPDX-License-Identifier: GPL-2.0
// Internal helpers for turning failed system calls into std::error_code.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace mmapdemo::detail {

// errno in the generic category, so callers can compare with std::errc.
inline std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

// Calls f until it fails with something other than EINTR.
template <class F>
[[nodiscard]] auto retry_on_eintr(F f) noexcept {
  decltype(f()) result;
  do {
    result = f();
  } while (result == -1 && errno == EINTR);
  return result;
}

// How messages name a file; a Device that was never opened has no path.
inline std::string name(const std::string& path) { return path.empty() ? "<no file>" : path; }

// " (offset 4096, length 100)": which part of the file a failed call was about.
inline std::string range(std::uint64_t offset, std::size_t length) {
  return " (offset " + std::to_string(offset) + ", length " + std::to_string(length) + ")";
}

}  // namespace mmapdemo::detail
