// SPDX-License-Identifier: GPL-2.0
#include "mmapdemo/base/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace mmapdemo::base {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Pipe make_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe");
  return {UniqueFd{ends[0]}, UniqueFd{ends[1]}};
}

}  // namespace mmapdemo::base
