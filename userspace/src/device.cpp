// SPDX-License-Identifier: GPL-2.0
#include <mmapdemo/device.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <utility>

#include "syscall.hpp"

namespace mmapdemo {

namespace {

using detail::last_error;
using detail::name;
using detail::retry_on_eintr;

std::string range(std::uint64_t offset, std::size_t length) {
  return " (offset " + std::to_string(offset) + ", length " + std::to_string(length) + ")";
}

std::string strategy_name(Strategy strategy) {
  const auto known = to_string(strategy);
  return known != "unknown" ? std::string{known}
                            : std::to_string(static_cast<std::uint32_t>(strategy));
}

}  // namespace

Device::Device(int fd, std::string path) noexcept : fd_{fd}, path_{std::move(path)} {}

Device::Device(Device&& other) noexcept
    : fd_{std::exchange(other.fd_, -1)}, path_{std::exchange(other.path_, {})} {}

Device& Device::operator=(Device&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    close(ignored);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

// As with fmt::file, a destructor has nowhere to report a failed close().
Device::~Device() {
  std::error_code ignored;
  close(ignored);
}

Device Device::open(std::string path, int flags) {
  std::error_code ec;
  auto device = open(path, flags, ec);
  if (ec) throw std::system_error(ec, "open " + name(path));
  return device;
}

Device Device::open(std::string path, int flags, std::error_code& ec) noexcept {
  const int fd = retry_on_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC); });
  if (fd < 0) {
    ec = last_error();
    return {};
  }
  ec.clear();
  return Device{fd, std::move(path)};
}

void Device::close() {
  std::error_code ec;
  close(ec);
  if (ec) throw std::system_error(ec, "close " + name(path_));
}

void Device::close(std::error_code& ec) noexcept {
  ec.clear();
  if (fd_ < 0) return;
  // Never retried: Linux releases the descriptor even when close() fails.
  if (::close(std::exchange(fd_, -1)) != 0) ec = last_error();
}

Info Device::info() const {
  std::error_code ec;
  const auto result = info(ec);
  if (ec) throw std::system_error(ec, "ioctl MMAPDEMO_IOC_GET_INFO " + name(path_));
  return result;
}

Info Device::info(std::error_code& ec) const noexcept {
  mmapdemo_info raw{};
  if (::ioctl(fd_, MMAPDEMO_IOC_GET_INFO, &raw) != 0) {
    ec = last_error();
    return {};
  }
  ec.clear();
  return Info{
      .size = raw.size,
      .page_size = raw.page_size,
      .backend = Backend{raw.backend},
      .strategy = Strategy{raw.strategy},
      .default_strategy = Strategy{raw.default_strategy},
  };
}

void Device::set_strategy(Strategy strategy) {
  std::error_code ec;
  set_strategy(strategy, ec);
  if (ec) {
    throw std::system_error(ec, "ioctl MMAPDEMO_IOC_SET_STRATEGY " + name(path_) + " (strategy " +
                                    strategy_name(strategy) + ")");
  }
}

void Device::set_strategy(Strategy strategy, std::error_code& ec) noexcept {
  auto value = static_cast<__u32>(strategy);
  if (::ioctl(fd_, MMAPDEMO_IOC_SET_STRATEGY, &value) != 0) {
    ec = last_error();
    return;
  }
  ec.clear();
}

std::size_t Device::pread(std::span<std::byte> buffer, std::uint64_t offset) const {
  std::error_code ec;
  const auto n = pread(buffer, offset, ec);
  if (ec) throw std::system_error(ec, "pread " + name(path_) + range(offset, buffer.size()));
  return n;
}

std::size_t Device::pread(std::span<std::byte> buffer, std::uint64_t offset,
                          std::error_code& ec) const noexcept {
  const auto n = retry_on_eintr(
      [&] { return ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset)); });
  if (n < 0) {
    ec = last_error();
    return 0;
  }
  ec.clear();
  return static_cast<std::size_t>(n);
}

std::size_t Device::pwrite(std::span<const std::byte> buffer, std::uint64_t offset) const {
  std::error_code ec;
  const auto n = pwrite(buffer, offset, ec);
  if (ec) throw std::system_error(ec, "pwrite " + name(path_) + range(offset, buffer.size()));
  return n;
}

std::size_t Device::pwrite(std::span<const std::byte> buffer, std::uint64_t offset,
                           std::error_code& ec) const noexcept {
  const auto n = retry_on_eintr(
      [&] { return ::pwrite(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset)); });
  if (n < 0) {
    ec = last_error();
    return 0;
  }
  ec.clear();
  return static_cast<std::size_t>(n);
}

}  // namespace mmapdemo
