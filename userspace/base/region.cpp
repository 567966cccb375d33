// SPDX-License-Identifier: GPL-2.0
#include "mmapdemo/base/region.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

namespace mmapdemo::base {

Region::Region(Region&& other) noexcept
    : data_{std::exchange(other.data_, nullptr)}, size_{std::exchange(other.size_, 0)} {}

Region& Region::operator=(Region&& other) noexcept {
  if (this != &other) {
    static_cast<void>(unmap());
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Region::~Region() { static_cast<void>(unmap()); }

Region Region::map(std::size_t length, int prot, int flags, int fd, std::uint64_t offset,
                   std::string_view what) {
  void* const address = ::mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
  if (address == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap " + std::string{what});
  }
  return Region{address, length};
}

Region Region::reserve(std::size_t length) {
  return map(length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, "anonymous PROT_NONE");
}

void Region::map_over(std::size_t length, int prot, int flags, int fd, std::uint64_t offset,
                      std::string_view what) {
  if (::mmap(data_, length, prot, flags | MAP_FIXED, fd, static_cast<off_t>(offset)) ==
      MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap " + std::string{what});
  }
}

int Region::unmap() noexcept {
  if (data_ == nullptr) return 0;
  const int ret = ::munmap(std::exchange(data_, nullptr), std::exchange(size_, 0));
  return ret == 0 ? 0 : errno;
}

void Region::adopt(void* address, std::size_t length) noexcept {
  data_ = static_cast<std::byte*>(address);
  size_ = length;
}

std::byte* Region::release() noexcept {
  size_ = 0;
  return std::exchange(data_, nullptr);
}

}  // namespace mmapdemo::base
