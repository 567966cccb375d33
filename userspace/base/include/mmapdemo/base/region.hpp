// SPDX-License-Identifier: GPL-2.0
// An mmap()ed range of anything (anonymous memory, a memfd, the device, a
// PROT_NONE reservation) owned by one object and unmapped by its destructor.
// For the ranges mmapdemo::Mapping does not model.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mmapdemo::base {

class Region {
 public:
  Region() noexcept = default;
  // Adopts a range mmap() returned.
  Region(void* address, std::size_t length) noexcept
      : data_{static_cast<std::byte*>(address)}, size_{length} {}
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  Region(Region&& other) noexcept;
  Region& operator=(Region&& other) noexcept;
  ~Region();

  // mmap(2) at a place the kernel picks; throws std::system_error naming
  // what (e.g. "mmap anonymous 4096 bytes: Cannot allocate memory").
  [[nodiscard]] static Region map(std::size_t length, int prot, int flags, int fd,
                                  std::uint64_t offset, std::string_view what);
  // An anonymous PROT_NONE range: every access faults, nothing else lands there.
  [[nodiscard]] static Region reserve(std::size_t length);

  // mmap(MAP_FIXED) length bytes of fd from offset over the start of the
  // range, which keeps owning all of it; throws naming what.
  void map_over(std::size_t length, int prot, int flags, int fd, std::uint64_t offset,
                std::string_view what);

  // munmap() now; 0 or its errno. Empty afterwards either way.
  int unmap() noexcept;
  // The kernel moved or shrank the range (mremap()): follow it, unmap nothing.
  void adopt(void* address, std::size_t length) noexcept;
  // Forgets the range without unmapping it (mremap() took it over).
  std::byte* release() noexcept;

  [[nodiscard]] std::byte* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return {data_, size_}; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mmapdemo::base
