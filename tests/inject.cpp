// SPDX-License-Identifier: GPL-2.0
#include "inject.hpp"

#include <fcntl.h>

#include <cstdarg>
#include <stdexcept>

// The linker's names: --wrap=open sends every call of open() here and makes
// __real_open() the real one. Reserved names, but the linker's to choose.
// NOLINTBEGIN(bugprone-reserved-identifier)
extern "C" {
int __real_open(const char* path, int flags, ...);
int __real_close(int fd);
ssize_t __real_pread(int fd, void* buffer, std::size_t length, off_t offset);
ssize_t __real_pwrite(int fd, const void* buffer, std::size_t length, off_t offset);
void* __real_mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset);
int __real_munmap(void* address, std::size_t length);
int __real_ioctl(int fd, unsigned long request, ...);
int __real_poll(pollfd* fds, nfds_t count, int timeout);
}
// NOLINTEND(bugprone-reserved-identifier)

namespace mmapdemo::test::inject {

namespace {

Hooks current;
bool in_scope = false;

}  // namespace

Scope::Scope() {
  if (in_scope) throw std::logic_error("inject::Scope: one at a time");
  in_scope = true;
}

Scope::~Scope() {
  current = {};
  in_scope = false;
}

Hooks& Scope::hooks() noexcept { return current; }

int real_open(const char* path, int flags, mode_t mode) { return __real_open(path, flags, mode); }
int real_close(int fd) { return __real_close(fd); }
ssize_t real_pread(int fd, void* buffer, std::size_t length, off_t offset) {
  return __real_pread(fd, buffer, length, offset);
}
ssize_t real_pwrite(int fd, const void* buffer, std::size_t length, off_t offset) {
  return __real_pwrite(fd, buffer, length, offset);
}
void* real_mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset) {
  return __real_mmap(address, length, prot, flags, fd, offset);
}
int real_munmap(void* address, std::size_t length) { return __real_munmap(address, length); }
int real_ioctl(int fd, unsigned long request, void* argument) {
  return __real_ioctl(fd, request, argument);
}
int real_poll(pollfd* fds, nfds_t count, int timeout) { return __real_poll(fds, count, timeout); }

}  // namespace mmapdemo::test::inject

using mmapdemo::test::inject::current;

// NOLINTBEGIN(bugprone-reserved-identifier)
extern "C" {

// open() and ioctl() are variadic: read the optional argument the way the
// real ones do, and pass it on whole.
int __wrap_open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if ((flags & (O_CREAT | O_TMPFILE)) != 0) {
    std::va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);
    va_end(args);
  }
  return current.open ? current.open(path, flags, mode) : __real_open(path, flags, mode);
}

int __wrap_close(int fd) { return current.close ? current.close(fd) : __real_close(fd); }

ssize_t __wrap_pread(int fd, void* buffer, std::size_t length, off_t offset) {
  return current.pread ? current.pread(fd, buffer, length, offset)
                       : __real_pread(fd, buffer, length, offset);
}

ssize_t __wrap_pwrite(int fd, const void* buffer, std::size_t length, off_t offset) {
  return current.pwrite ? current.pwrite(fd, buffer, length, offset)
                        : __real_pwrite(fd, buffer, length, offset);
}

void* __wrap_mmap(void* address, std::size_t length, int prot, int flags, int fd, off_t offset) {
  return current.mmap ? current.mmap(address, length, prot, flags, fd, offset)
                      : __real_mmap(address, length, prot, flags, fd, offset);
}

int __wrap_munmap(void* address, std::size_t length) {
  return current.munmap ? current.munmap(address, length) : __real_munmap(address, length);
}

int __wrap_ioctl(int fd, unsigned long request, ...) {
  std::va_list args;
  va_start(args, request);
  void* const argument = va_arg(args, void*);
  va_end(args);
  return current.ioctl ? current.ioctl(fd, request, argument) : __real_ioctl(fd, request, argument);
}

int __wrap_poll(pollfd* fds, nfds_t count, int timeout) {
  return current.poll ? current.poll(fds, count, timeout) : __real_poll(fds, count, timeout);
}

}  // extern "C"
// NOLINTEND(bugprone-reserved-identifier)
