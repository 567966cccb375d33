// SPDX-License-Identifier: GPL-2.0
// What the seed scenarios share: narration with checks, child processes that
// probe an address; temporary files and address ranges come from mmapdemo/base.
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
#include <mmapdemo/base/child.hpp>
#include <mmapdemo/base/region.hpp>
#include <mmapdemo/base/temp_dir.hpp>
#include <mmapdemo/device.hpp>

namespace mmapdemo::cli {

[[nodiscard]] std::size_t page_size();

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

using base::signal_name;

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

using base::TempDir;

}  // namespace mmapdemo::cli
