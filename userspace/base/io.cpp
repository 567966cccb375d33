// SPDX-License-Identifier: GPL-2.0
#include "mmapdemo/base/io.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace mmapdemo::base {
namespace {

// Calls io(bytes, offset) until all of bytes is moved; io returns what
// pread()/pwrite() return.
template <class Bytes, class Io>
void move_all(Bytes bytes, std::uint64_t offset, std::string_view what, Io io) {
  while (!bytes.empty()) {
    const ssize_t n = io(bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), std::string{what});
    if (n == 0) {  // an end of file, or a device that moves nothing: it would loop forever
      throw std::system_error(std::make_error_code(std::errc::io_error),
                              std::string{what} + " (offset " + std::to_string(offset) +
                                  "): nothing moved, " + std::to_string(bytes.size()) +
                                  " bytes short");
    }
    const auto moved = static_cast<std::size_t>(n);
    bytes = bytes.subspan(moved);
    offset += moved;
  }
}

}  // namespace

void write_all(int fd, std::span<const std::byte> bytes, std::uint64_t offset,
               std::string_view what) {
  move_all(bytes, offset, what, [fd](std::span<const std::byte> b, std::uint64_t at) {
    return ::pwrite(fd, b.data(), b.size(), static_cast<off_t>(at));
  });
}

void read_all(int fd, std::span<std::byte> bytes, std::uint64_t offset, std::string_view what) {
  move_all(bytes, offset, what, [fd](std::span<std::byte> b, std::uint64_t at) {
    return ::pread(fd, b.data(), b.size(), static_cast<off_t>(at));
  });
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

std::size_t read_to_end(int fd, std::span<std::byte> into) noexcept {
  std::size_t got = 0;
  while (got < into.size()) {
    const ssize_t n = ::read(fd, into.data() + got, into.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

}  // namespace mmapdemo::base
