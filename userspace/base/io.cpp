// SPDX-License-Identifier: GPL-2.0
#include "mmapdemo/base/io.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

namespace mmapdemo::base {
namespace {

// One pread()/pwrite() (io), again after EINTR; throws naming what.
template <class Io>
[[nodiscard]] std::size_t once(Io io, std::string_view what) {
  for (;;) {
    const ssize_t n = io();
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), std::string{what});
  }
}

std::string nothing_moved(std::string_view what, std::uint64_t offset, std::size_t left) {
  return std::string{what} + " (offset " + std::to_string(offset) + "): nothing moved, " +
         std::to_string(left) + " bytes short";
}

}  // namespace

void write_all(int fd, std::span<const std::byte> bytes, std::uint64_t offset,
               std::string_view what) {
  move_all(
      bytes, offset,
      [&](std::span<const std::byte> rest, std::uint64_t at) {
        return once([&] { return ::pwrite(fd, rest.data(), rest.size(), static_cast<off_t>(at)); },
                    what);
      },
      [&](std::uint64_t at, std::size_t left) { return nothing_moved(what, at, left); });
}

void read_all(int fd, std::span<std::byte> bytes, std::uint64_t offset, std::string_view what) {
  move_all(
      bytes, offset,
      [&](std::span<std::byte> rest, std::uint64_t at) {
        return once([&] { return ::pread(fd, rest.data(), rest.size(), static_cast<off_t>(at)); },
                    what);
      },
      [&](std::uint64_t at, std::size_t left) { return nothing_moved(what, at, left); });
}

bool write_fully(int fd, std::span<const std::byte> bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

std::size_t read_to_end(int fd, std::span<std::byte> into, std::error_code& ec) noexcept {
  ec.clear();
  std::size_t got = 0;
  while (got < into.size()) {
    const ssize_t n = ::read(fd, into.data() + got, into.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ec.assign(errno, std::generic_category());
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

std::size_t read_to_end(int fd, std::span<std::byte> into) noexcept {
  std::error_code ignored;
  return read_to_end(fd, into, ignored);
}

std::vector<std::byte> read_to_end(int fd, std::string_view what) {
  std::vector<std::byte> data;
  std::size_t got = 0;
  std::error_code ec;
  // Filling the room is no end of file: twice the room, and read on.
  while (got == data.size()) {
    data.resize(std::max(std::size_t{64} * 1024, 2 * data.size()));
    got += read_to_end(fd, std::span{data}.subspan(got), ec);
    if (ec) throw std::system_error(ec, std::string{what});
  }
  data.resize(got);
  return data;
}

}  // namespace mmapdemo::base
