// SPDX-License-Identifier: GPL-2.0
// What the seed scenarios share: narration with checks, child processes that
// probe an address; children, temporary files and address ranges come from
// mmapdemo/base.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
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

using base::ChildEnd;
using base::describe;
using base::signal_name;

// A scenario's child does one short step: one that has not ended within a
// minute is stuck, and is killed (it ends as timed_out).
inline constexpr std::chrono::milliseconds child_timeout = std::chrono::minutes{1};

// The child was killed by signal (not for outliving its deadline).
[[nodiscard]] bool killed_by(const ChildEnd& end, int signal);
// The child exited, with status.
[[nodiscard]] bool exited_with(const ChildEnd& end, int status);

// Reads the byte at address in a child (its value comes back as the exit
// status) or writes value there: which child it was, for the narration, and
// how it ended (a signal, if the access raised one).
enum class Access { read, write };
struct Probed {
  pid_t pid = -1;
  ChildEnd end;
};
[[nodiscard]] Probed probe(const std::byte* address, Access access,
                           std::byte value = std::byte{'9'});

using base::TempDir;

}  // namespace mmapdemo::cli
