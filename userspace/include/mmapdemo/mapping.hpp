// SPDX-License-Identifier: GPL-2.0
// A mapping of /dev/mmapdemo's buffer: the one owner of its address range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>

#include <mmapdemo/device.hpp>

namespace mmapdemo {

enum class Protection { read_only, read_write };
enum class Sharing { shared, private_copy };

// Move-only owner of an mmap(2)ed range, unmapped by the destructor. It does
// not keep the Device: like any file mapping it stays valid after close().
// It keeps the Device's path and its offset for the messages of unmap().
class Mapping {
 public:
  // No mapping.
  Mapping() noexcept = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  ~Mapping();

  // mmap(2) of length bytes of the buffer from offset (a multiple of the page
  // size). Throws std::system_error, e.g.
  // "mmap /dev/mmapdemo (offset 0, length 4096): Invalid argument".
  [[nodiscard]] static Mapping map(const Device& device, std::size_t length,
                                   std::uint64_t offset = 0,
                                   Protection protection = Protection::read_write,
                                   Sharing sharing = Sharing::shared);
  // On failure returns an empty Mapping.
  [[nodiscard]] static Mapping map(const Device& device, std::size_t length, std::uint64_t offset,
                                   Protection protection, Sharing sharing,
                                   std::error_code& ec) noexcept;

  // Unmapping an empty Mapping does nothing. The Mapping is empty afterwards
  // even if munmap(2) failed. Throws e.g.
  // "munmap /dev/mmapdemo (offset 0, length 4096): Invalid argument".
  void unmap();
  void unmap(std::error_code& ec) noexcept;

  [[nodiscard]] std::span<std::byte> bytes() noexcept { return {data_, size_}; }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  [[nodiscard]] std::byte* data() noexcept { return data_; }
  [[nodiscard]] const std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool empty() const noexcept { return data_ == nullptr; }
  explicit operator bool() const noexcept { return !empty(); }

 private:
  Mapping(std::byte* data, std::size_t size, std::uint64_t offset, std::string path) noexcept
      : data_{data}, size_{size}, offset_{offset}, path_{std::move(path)} {}

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t offset_ = 0;
  std::string path_;
};

}  // namespace mmapdemo
