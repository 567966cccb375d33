// SPDX-License-Identifier: GPL-2.0
#include <mmapdemo/device.hpp>

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <utility>

#include <mmapdemo/base/io.hpp>

#include "syscall.hpp"

namespace mmapdemo {

namespace {

using detail::last_error;
using detail::name;
using detail::range;
using detail::retry_on_eintr;
using std::chrono::milliseconds;

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

Device Device::open(const std::string& path, int flags) {
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

void Device::resize(std::uint64_t size) const {
  std::error_code ec;
  resize(size, ec);
  if (ec) {
    throw std::system_error(
        ec, "ioctl MMAPDEMO_IOC_RESIZE " + name(path_) + " (size " + std::to_string(size) + ")");
  }
}

void Device::resize(std::uint64_t size, std::error_code& ec) const noexcept {
  __u64 value = size;
  if (::ioctl(fd_, MMAPDEMO_IOC_RESIZE, &value) != 0) {
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

void Device::read_all(std::span<std::byte> buffer, std::uint64_t offset) const {
  // Each pread() names its own offset and length when it fails.
  base::move_all(
      buffer, offset,
      [this](std::span<std::byte> rest, std::uint64_t at) { return pread(rest, at); },
      [this](std::uint64_t at, std::size_t left) {
        return "pread " + name(path_) + range(at, left) + ": end of file";
      });
}

void Device::write_all(std::span<const std::byte> buffer, std::uint64_t offset) const {
  base::move_all(
      buffer, offset,
      [this](std::span<const std::byte> rest, std::uint64_t at) { return pwrite(rest, at); },
      [this](std::uint64_t at, std::size_t left) {
        return "pwrite " + name(path_) + range(at, left) + ": wrote nothing";
      });
}

void Device::ring() const {
  std::error_code ec;
  ring(ec);
  if (ec) throw std::system_error(ec, "ioctl MMAPDEMO_IOC_RING " + name(path_));
}

void Device::ring(std::error_code& ec) const noexcept {
  if (::ioctl(fd_, MMAPDEMO_IOC_RING) != 0) {
    ec = last_error();
    return;
  }
  ec.clear();
}

std::optional<std::uint64_t> Device::ack() const {
  std::error_code ec;
  const auto number = ack(ec);
  if (ec) throw std::system_error(ec, "ioctl MMAPDEMO_IOC_ACK " + name(path_));
  return number;
}

std::optional<std::uint64_t> Device::ack(std::error_code& ec) const noexcept {
  ec.clear();
  __u64 number = 0;
  if (::ioctl(fd_, MMAPDEMO_IOC_ACK, &number) == 0) return number;
  // EAGAIN is the answer "no ring pending", not a failure.
  if (errno != EAGAIN) ec = last_error();
  return std::nullopt;
}

namespace {

// The wait of wait_ring(); poll_failed tells the throwing overload which call
// to name in its message.
std::optional<std::uint64_t> wait_for_ring(const Device& device, milliseconds timeout,
                                           std::error_code& ec, bool& poll_failed) noexcept {
  using clock = std::chrono::steady_clock;
  ec.clear();
  poll_failed = true;
  // poll() skips a negative descriptor and would just sleep out the timeout.
  if (device.fd() < 0) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return std::nullopt;
  }
  // A timeout the clock cannot add without overflowing is as good as none.
  const bool forever =
      timeout < milliseconds::zero() ||
      timeout > std::chrono::duration_cast<milliseconds>(clock::duration::max() / 4);
  const auto deadline = forever ? clock::time_point{} : clock::now() + timeout;

  for (;;) {
    int wait_ms = -1;
    if (!forever) {
      // Rounded up, so poll() never returns just before the deadline and
      // makes this loop spin.
      const auto left = std::chrono::ceil<milliseconds>(deadline - clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<decltype(left)>(left, 0, INT_MAX));
    }
    pollfd pfd{device.fd(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, wait_ms);
    if (ready < 0) {
      // Interrupted: poll again for what is left, and once more after the
      // deadline with poll(0), unless that very look was interrupted.
      if (errno == EINTR && wait_ms != 0) continue;
      if (errno == EINTR) return std::nullopt;
      ec = last_error();
      return std::nullopt;
    }
    if (ready > 0 && (pfd.revents & POLLNVAL) != 0) {
      ec = std::make_error_code(std::errc::bad_file_descriptor);
      return std::nullopt;
    }
    if (ready > 0) {
      poll_failed = false;
      if (auto number = device.ack(ec); number || ec) return number;
      poll_failed = true;  // another thread acked that ring first: wait on
    }
    if (wait_ms == 0 || (!forever && clock::now() >= deadline)) return std::nullopt;
  }
}

}  // namespace

std::optional<std::uint64_t> Device::wait_ring(milliseconds timeout) const {
  std::error_code ec;
  bool poll_failed = false;
  const auto number = wait_for_ring(*this, timeout, ec, poll_failed);
  if (ec) {
    throw std::system_error(ec, (poll_failed ? "poll " : "ioctl MMAPDEMO_IOC_ACK ") + name(path_));
  }
  return number;
}

std::optional<std::uint64_t> Device::wait_ring(milliseconds timeout,
                                               std::error_code& ec) const noexcept {
  bool poll_failed = false;
  return wait_for_ring(*this, timeout, ec, poll_failed);
}

}  // namespace mmapdemo
