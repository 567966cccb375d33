// SPDX-License-Identifier: GPL-2.0
// The internal foundation of mmapdemo's programs (not installed): a file
// descriptor owned by one object, closed by its destructor.
#pragma once

#include <utility>

namespace mmapdemo::base {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_{fd} {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_{std::exchange(other.fd_, -1)} {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  // Closes what it held (an error of close() is lost: nothing is left to retry).
  void reset(int fd = -1) noexcept;
  // Hands the descriptor over without closing it.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// pipe2(O_CLOEXEC): {read end, write end}; throws std::system_error.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
[[nodiscard]] Pipe make_pipe();

}  // namespace mmapdemo::base
