// SPDX-License-Identifier: GPL-2.0
// Failure injection for the library's system calls, for the errors no real
// file can be made to return on demand: close() failing with EIO, munmap()
// failing, EINTR from pread() or poll(), mmap() out of memory, an ioctl
// answering what the device would.
//
// The test binary that links this is linked with -Wl,--wrap=<call> for each
// call below: the library's calls then land in __wrap_<call>, which runs the
// hook set here, or the real call (__real_<call>) when there is none. The
// library itself has no seam and no test-only code.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>

namespace mmapdemo::test::inject {

// One hook per call, with the call's own signature. A hook returns what the
// call returns and sets errno when it fails, like the call.
struct Hooks {
  std::function<int(const char* path, int flags, mode_t mode)> open;
  std::function<int(int fd)> close;
  std::function<ssize_t(int fd, void* buffer, std::size_t length, off_t offset)> pread;
  std::function<ssize_t(int fd, const void* buffer, std::size_t length, off_t offset)> pwrite;
  std::function<void*(void* address, std::size_t length, int prot, int flags, int fd, off_t offset)>
      mmap;
  std::function<int(void* address, std::size_t length)> munmap;
  std::function<int(int fd, unsigned long request, void* argument)> ioctl;
  std::function<int(pollfd* fds, nfds_t count, int timeout)> poll;
};

// Sets hooks for as long as it lives; the calls are real again afterwards.
// Hooks run on every thread; the tests that set them run on one.
class Scope {
 public:
  Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope();

  Hooks& hooks() noexcept;
};

// The real calls, for hooks that pass some calls on.
int real_open(const char* path, int flags, mode_t mode);
int real_close(int fd);
[[nodiscard]] ssize_t real_pread(int fd, void* buffer, std::size_t length, off_t offset);
[[nodiscard]] ssize_t real_pwrite(int fd, const void* buffer, std::size_t length, off_t offset);
void* real_mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset);
int real_munmap(void* address, std::size_t length);
int real_ioctl(int fd, unsigned long request, void* argument);
int real_poll(pollfd* fds, nfds_t count, int timeout);

}  // namespace mmapdemo::test::inject
