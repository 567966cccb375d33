// SPDX-License-Identifier: GPL-2.0
// Reads and writes that go on until every byte is moved: pread()/pwrite()
// may move fewer bytes than asked, and a caller that forgets is wrong only
// sometimes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mmapdemo::base {

// Calls step(rest, offset), one transfer that returns how many bytes it
// moved and throws on an error, until all of bytes is moved. A step that
// moves nothing (an end of file) would loop forever: short_of(offset, left)
// names it in the std::system_error (EIO) thrown instead.
template <class Bytes, class Step, class ShortOf>
void move_all(Bytes bytes, std::uint64_t offset, Step step, ShortOf short_of) {
  while (!bytes.empty()) {
    const std::size_t moved = step(bytes, offset);
    if (moved == 0) {
      throw std::system_error(std::make_error_code(std::errc::io_error),
                              short_of(offset, bytes.size()));
    }
    bytes = bytes.subspan(moved);
    offset += moved;
  }
}

// pwrite() from offset until bytes are written, again after EINTR. Throws
// std::system_error naming what: the call's error, or EIO when a call
// writes nothing.
void write_all(int fd, std::span<const std::byte> bytes, std::uint64_t offset,
               std::string_view what);
// pread() until bytes is full; EIO at an end of file before that.
void read_all(int fd, std::span<std::byte> bytes, std::uint64_t offset, std::string_view what);

// write() of all of bytes to a pipe or socket, again after EINTR; false on
// an error (errno is kept), for children that must not throw.
[[nodiscard]] bool write_fully(int fd, std::span<const std::byte> bytes) noexcept;
// read() until end of file or into is full, again after EINTR: how many
// bytes came. ec is errno if a call failed, else clear: a count short of
// into.size() with ec clear is an end of file (a peer that closed early).
[[nodiscard]] std::size_t read_to_end(int fd, std::span<std::byte> into,
                                      std::error_code& ec) noexcept;
// The same where an error counts as an end of file: what a child sent back.
[[nodiscard]] std::size_t read_to_end(int fd, std::span<std::byte> into) noexcept;
// read() until end of file into a vector that grows as needed. Throws
// std::system_error naming what.
[[nodiscard]] std::vector<std::byte> read_to_end(int fd, std::string_view what);

}  // namespace mmapdemo::base
