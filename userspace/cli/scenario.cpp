// SPDX-License-Identifier: GPL-2.0
#include "scenario.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace mmapdemo::cli {

std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

void write_all(const Device& device, std::span<const std::byte> bytes, std::uint64_t offset) {
  while (!bytes.empty()) {
    const auto n = device.pwrite(bytes, offset);
    if (n == 0) {  // never for a device or a file, but it would loop forever
      throw std::system_error(
          std::make_error_code(std::errc::io_error),
          fmt::format("pwrite {} (offset {}): wrote nothing", device.path(), offset));
    }
    bytes = bytes.subspan(n);
    offset += n;
  }
}

void read_all(const Device& device, std::span<std::byte> bytes, std::uint64_t offset) {
  while (!bytes.empty()) {
    const auto n = device.pread(bytes, offset);
    if (n == 0) {
      throw std::system_error(std::make_error_code(std::errc::io_error),
                              fmt::format("pread {} (offset {}): end of file, {} bytes short",
                                          device.path(), offset, bytes.size()));
    }
    bytes = bytes.subspan(n);
    offset += n;
  }
}

Story::Story(std::string name, std::string_view summary) : name_{std::move(name)} {
  fmt::print("{}: {}\n", name_, summary);
  std::fflush(stdout);
}

void Story::note(std::string_view text) const {
  fmt::print("  note: {}\n", text);
  std::fflush(stdout);
}

bool Story::check(bool ok, std::string_view what) {
  ++checks_;
  if (!ok) ++failed_;
  fmt::print("  {}: {}\n", ok ? "ok" : "NOT AS DOCUMENTED", what);
  std::fflush(stdout);
  return ok;
}

int Story::verdict() const {
  if (failed_ == 0) {
    fmt::print("{}: behaved as documented ({} checks)\n", name_, checks_);
  } else {
    fmt::print("{}: {} of {} checks did not hold\n", name_, failed_, checks_);
  }
  std::fflush(stdout);
  return failed_ == 0 ? 0 : 1;
}

std::string signal_name(int signal) {
  if (signal == 0) return "no signal";
  const char* const abbreviation = ::sigabbrev_np(signal);
  return fmt::format("{} ({})",
                     abbreviation != nullptr ? fmt::format("SIG{}", abbreviation)
                                             : fmt::format("signal {}", signal),
                     ::strsignal(signal));
}

std::string describe(const ChildEnd& end) {
  if (end.signal != 0) return "was killed by " + signal_name(end.signal);
  return fmt::format("exited with status {}", end.exit_status);
}

pid_t start_child(const std::function<int()>& body) {
  std::fflush(nullptr);  // or both processes would print what is buffered
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) return pid;
  std::signal(SIGSEGV, SIG_DFL);
  std::signal(SIGBUS, SIG_DFL);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // a probe's fault is expected, not a crash to keep
  int status = 125;
  try {
    status = body();
  } catch (const std::exception& e) {
    fmt::print(stderr, "mmapdemo: child {}: {}\n", ::getpid(), e.what());
  }
  std::fflush(nullptr);
  ::_exit(status);  // not exit(): the parent's atexit handlers and buffers are its own
}

ChildEnd wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) != pid) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  if (WIFSIGNALED(status)) return {.pid = pid, .exit_status = -1, .signal = WTERMSIG(status)};
  return {.pid = pid, .exit_status = WEXITSTATUS(status), .signal = 0};
}

ChildEnd probe(const std::byte* address, Access access, std::byte value) {
  return wait_child(start_child([=] {
    // volatile: the access is the point, the compiler must not drop it.
    if (access == Access::read) {
      return std::to_integer<int>(*static_cast<const volatile std::byte*>(address));
    }
    *const_cast<volatile std::byte*>(static_cast<const volatile std::byte*>(address)) = value;
    return 0;
  }));
}

TempDir::TempDir(std::string_view stem) {
  const char* const tmp = std::getenv("TMPDIR");
  std::string pattern =
      fmt::format("{}/{}-XXXXXX", tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", stem);
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = std::move(pattern);
}

TempDir::~TempDir() {
  for (const auto& file : files_) ::unlink(file.c_str());
  ::rmdir(path_.c_str());
}

std::string TempDir::file(std::string_view name) {
  files_.push_back(fmt::format("{}/{}", path_, name));
  return files_.back();
}

Reservation::Reservation(std::size_t length) : size_{length} {
  void* const address = ::mmap(nullptr, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(), "mmap anonymous PROT_NONE");
  }
  data_ = static_cast<std::byte*>(address);
}

Reservation::~Reservation() { ::munmap(data_, size_); }

void Reservation::map_over(int fd, std::size_t length, std::uint64_t offset,
                           std::string_view path) {
  if (::mmap(data_, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
             static_cast<off_t>(offset)) == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("mmap {} (offset {}, length {})", path, offset, length));
  }
}

}  // namespace mmapdemo::cli
