// SPDX-License-Identifier: GPL-2.0
// An open file of /dev/mmapdemo: the one owner of its descriptor.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <system_error>

#include <mmapdemo/types.hpp>

namespace mmapdemo {

// Move-only owner of a file descriptor, closed by the destructor. Every
// operation throws std::system_error (generic category, so it compares equal
// to std::errc) whose message names the operation and the path; each also has
// a noexcept overload that reports through a std::error_code instead.
class Device {
 public:
  // No file: every operation fails with EBADF.
  Device() noexcept = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  Device(Device&& other) noexcept;
  Device& operator=(Device&& other) noexcept;
  ~Device();

  // O_CLOEXEC is always added to flags.
  [[nodiscard]] static Device open(const std::string& path = std::string{default_path},
                                   int flags = O_RDWR);
  // On failure returns an empty Device.
  [[nodiscard]] static Device open(std::string path, int flags, std::error_code& ec) noexcept;

  // Closing an empty Device does nothing.
  void close();
  void close(std::error_code& ec) noexcept;

  [[nodiscard]] Info info() const;
  [[nodiscard]] Info info(std::error_code& ec) const noexcept;

  // Only before this file has been mapped (EBUSY after), and only to a
  // strategy the driver knows (EINVAL otherwise).
  void set_strategy(Strategy strategy);
  void set_strategy(Strategy strategy, std::error_code& ec) noexcept;

  // Changes the buffer's size for every process, like ftruncate(2) of a
  // file: size is rounded up to whole pages, grown pages read as zero, and
  // past a smaller end every mapping raises SIGBUS. Needs a file open for
  // writing (EBADF otherwise); EINVAL for 0, EFBIG past what the backend can
  // provide, ENOMEM when the memory cannot be allocated. Rings the doorbell.
  void resize(std::uint64_t size) const;
  void resize(std::uint64_t size, std::error_code& ec) const noexcept;

  // One pread(2)/pwrite(2) (retried on EINTR): may be short, 0 at end of file.
  [[nodiscard]] std::size_t pread(std::span<std::byte> buffer, std::uint64_t offset) const;
  [[nodiscard]] std::size_t pread(std::span<std::byte> buffer, std::uint64_t offset,
                                  std::error_code& ec) const noexcept;
  [[nodiscard]] std::size_t pwrite(std::span<const std::byte> buffer, std::uint64_t offset) const;
  [[nodiscard]] std::size_t pwrite(std::span<const std::byte> buffer, std::uint64_t offset,
                                   std::error_code& ec) const noexcept;
  // pread(2)/pwrite(2) until every byte is moved. Throws the failing call's
  // std::system_error, e.g. "pwrite /dev/mmapdemo (offset 1048576, length
  // 2): No space left on device" after the part that fit, or EIO when the
  // file ends first: "pread /dev/mmapdemo (offset 4096, length 4096): end of file".
  void read_all(std::span<std::byte> buffer, std::uint64_t offset) const;
  void write_all(std::span<const std::byte> buffer, std::uint64_t offset) const;

  // The doorbell, for processes that share the buffer and want to wake each
  // other instead of polling it. ring() counts one ring on the device and
  // wakes every waiter. Each open file sees each ring made after it was
  // opened exactly once: ack() takes the oldest one it has not taken yet and
  // returns its number (the device's first ring is 1), or nullopt when none
  // is pending. Descriptors that share an open file (dup(), fork()) share
  // its rings.
  void ring() const;
  void ring(std::error_code& ec) const noexcept;
  [[nodiscard]] std::optional<std::uint64_t> ack() const;
  [[nodiscard]] std::optional<std::uint64_t> ack(std::error_code& ec) const noexcept;

  // poll(2) until a ring is pending, then ack() it. nullopt when no ring
  // arrived within timeout; a negative timeout waits for as long as it takes.
  // Signals neither end the wait early nor extend it, and a ring that another
  // thread acked first does not end it either.
  [[nodiscard]] std::optional<std::uint64_t> wait_ring(std::chrono::milliseconds timeout) const;
  [[nodiscard]] std::optional<std::uint64_t> wait_ring(std::chrono::milliseconds timeout,
                                                       std::error_code& ec) const noexcept;

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return is_open(); }

 private:
  Device(int fd, std::string path) noexcept;

  int fd_ = -1;
  std::string path_;
};

}  // namespace mmapdemo
