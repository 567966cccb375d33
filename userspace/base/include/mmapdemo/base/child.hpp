// SPDX-License-Identifier: GPL-2.0
// A forked child that runs a function, with a pipe back for what failed:
// the child's exit status says which step went wrong, the message it left
// says why.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "fd.hpp"

namespace mmapdemo::base {

// How a child ended: its exit status, the signal that killed it, or that it
// outlived its deadline (and was then killed); and what it said went wrong.
struct ChildEnd {
  enum class Kind { exited, killed, timed_out };

  Kind kind = Kind::exited;
  int value = 0;  // exit status or signal number
  std::string message;
};

// "SIGSEGV (Segmentation fault)", "no signal" for 0.
[[nodiscard]] std::string signal_name(int signal);
// "exited with status 3 (pread: Bad address)", "was killed by SIGBUS (...)".
[[nodiscard]] std::string describe(const ChildEnd& end);

// A waitpid() status as a ChildEnd (exited or killed).
[[nodiscard]] ChildEnd ended(int status);
// Reaps pid within timeout, again after EINTR; false if it could not be (a
// child stuck in the kernel). Throws std::system_error for other errors.
[[nodiscard]] bool reap(pid_t pid, std::chrono::milliseconds timeout, int& status);

// In a freshly forked child: default handlers for the fatal signals and no
// core dumps, then body; _exit()s with what body returns, or with 125 after
// report(message) when it throws.
[[noreturn]] void run_child(const std::function<int()>& body,
                            void (*report)(std::string_view) noexcept);

class Child {
 public:
  // Forks; the child runs body and _exit()s with what it returns, or with
  // 125 and the exception's message when it throws. The child gets default
  // handlers for SIGSEGV and SIGBUS and no core dumps: a fault there is a
  // result, not a crash. Throws std::system_error when fork() fails.
  explicit Child(const std::function<int()>& body);
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // kills and reaps a child nobody waited for

  // Waits for the end, killing the child at timeout; throws std::logic_error
  // once the child was reaped.
  ChildEnd wait(std::chrono::milliseconds timeout);
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // In the child: a message for the parent's ChildEnd (the last one counts).
  static void say(std::string_view message) noexcept;

 private:
  pid_t pid_ = -1;
  UniqueFd messages_;
};

}  // namespace mmapdemo::base
