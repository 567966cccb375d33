// SPDX-License-Identifier: GPL-2.0
// What the seed scenarios share: narration with checks, child processes that
// probe an address, temporary files, and address ranges held for MAP_FIXED.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <mmapdemo/device.hpp>

namespace mmapdemo::cli {

[[nodiscard]] std::size_t page_size();

// pwrite()/pread() until done; the library's errors, and EIO for an end of
// file that comes too early.
void write_all(const Device& device, std::span<const std::byte> bytes, std::uint64_t offset);
void read_all(const Device& device, std::span<std::byte> bytes, std::uint64_t offset);

// One line of narration for who ("A (pid 42): ..."), with the pid of the
// process that says it. Flushed at once: several processes share stdout.
template <class... Args>
void say(std::string_view who, fmt::format_string<Args...> format, Args&&... args) {
  fmt::print("{} (pid {}): {}\n", who, ::getpid(),
             fmt::format(format, std::forward<Args>(args)...));
  std::fflush(stdout);
}

// One scenario: its heading, checks that each step behaved as documented,
// and the verdict, which is the exit status.
class Story {
 public:
  Story(std::string name, std::string_view summary);

  // A remark of the narrator, not of a process.
  void note(std::string_view text) const;

  // Prints "  ok: what" or "  NOT AS DOCUMENTED: what"; returns ok.
  bool check(bool ok, std::string_view what);

  // The closing line; 0 when every check held, else 1.
  [[nodiscard]] int verdict() const;

 private:
  std::string name_;
  int checks_ = 0;
  int failed_ = 0;
};

// "SIGBUS (Bus error)"; "no signal" for 0.
[[nodiscard]] std::string signal_name(int signal);

// How a child process ended.
struct ChildEnd {
  pid_t pid = -1;
  int exit_status = -1;  // when it exited
  int signal = 0;        // when a signal killed it
};
[[nodiscard]] std::string describe(const ChildEnd& end);

// Forks a child that runs body and _exit()s with what it returns (125 when
// it throws), with default handlers for SIGSEGV and SIGBUS and no core dump.
[[nodiscard]] pid_t start_child(const std::function<int()>& body);
// waitpid(), retried on EINTR.
[[nodiscard]] ChildEnd wait_child(pid_t pid);

// Reads the byte at address in a child (its value comes back as the exit
// status) or writes value there; the signal that killed the child, if any.
enum class Access { read, write };
[[nodiscard]] ChildEnd probe(const std::byte* address, Access access,
                             std::byte value = std::byte{'9'});

// A directory of its own under $TMPDIR (or /tmp), removed with what it holds.
class TempDir {
 public:
  explicit TempDir(std::string_view stem);
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  // The path of name inside; it is removed with the directory.
  [[nodiscard]] std::string file(std::string_view name);

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// An anonymous PROT_NONE range: an access to any part that nothing was
// mapped over faults with SIGSEGV. Unmapped whole, with what was mapped over it.
class Reservation {
 public:
  explicit Reservation(std::size_t length);
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

  // mmap(MAP_SHARED | MAP_FIXED) length bytes of fd from offset over the
  // start of the range; path is for the message of a failure.
  void map_over(int fd, std::size_t length, std::uint64_t offset, std::string_view path);

  [[nodiscard]] std::byte* data() const noexcept { return data_; }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace mmapdemo::cli
