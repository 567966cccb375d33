// SPDX-License-Identifier: GPL-2.0
#include <mmapdemo/mapping.hpp>

#include <sys/mman.h>

#include <string>
#include <utility>

#include "syscall.hpp"

namespace mmapdemo {

using detail::last_error;
using detail::name;
using detail::range;

Mapping::Mapping(Mapping&& other) noexcept
    : data_{std::exchange(other.data_, nullptr)},
      size_{std::exchange(other.size_, 0)},
      offset_{std::exchange(other.offset_, 0)},
      path_{std::exchange(other.path_, {})} {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    unmap(ignored);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    offset_ = std::exchange(other.offset_, 0);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

Mapping::~Mapping() {
  std::error_code ignored;
  unmap(ignored);
}

Mapping Mapping::map(const Device& device, std::size_t length, std::uint64_t offset,
                     Protection protection, Sharing sharing) {
  std::error_code ec;
  auto mapping = map(device, length, offset, protection, sharing, ec);
  if (ec) throw std::system_error(ec, "mmap " + name(device.path()) + range(offset, length));
  return mapping;
}

Mapping Mapping::map(const Device& device, std::size_t length, std::uint64_t offset,
                     Protection protection, Sharing sharing, std::error_code& ec) noexcept {
  const int prot = protection == Protection::read_only ? PROT_READ : PROT_READ | PROT_WRITE;
  const int flags = sharing == Sharing::shared ? MAP_SHARED : MAP_PRIVATE;
  // The kernel takes the offset as unsigned; off_t merely carries the bits.
  void* const data = ::mmap(nullptr, length, prot, flags, device.fd(), static_cast<off_t>(offset));
  if (data == MAP_FAILED) {
    ec = last_error();
    return {};
  }
  ec.clear();
  try {
    return Mapping{static_cast<std::byte*>(data), length, offset, device.path()};
  } catch (...) {  // copying the path ran out of memory: give the range back
    ::munmap(data, length);
    ec = std::make_error_code(std::errc::not_enough_memory);
    return {};
  }
}

void Mapping::unmap() {
  std::error_code ec;
  // The message needs what unmap() clears.
  const auto what = name(path_) + range(offset_, size_);
  unmap(ec);
  if (ec) throw std::system_error(ec, "munmap " + what);
}

void Mapping::unmap(std::error_code& ec) noexcept {
  ec.clear();
  if (data_ == nullptr) return;
  offset_ = 0;
  path_.clear();
  if (::munmap(std::exchange(data_, nullptr), std::exchange(size_, 0)) != 0) ec = last_error();
}

}  // namespace mmapdemo
