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

std::string describe(const ChildEnd& end) {
  if (end.signal != 0) return "was killed by " + signal_name(end.signal);
  return fmt::format("exited with status {}", end.exit_status);
}

pid_t start_child(const std::function<int()>& body) {
  std::fflush(nullptr);  // or both processes would print what is buffered
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) return pid;
  base::run_child(body, [](std::string_view message) noexcept {
    try {
      fmt::print(stderr, "mmapdemo: child {}: {}\n", ::getpid(), message);
    } catch (...) {
      // A child that cannot even print why it failed still exits failing.
    }
  });
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

}  // namespace mmapdemo::cli
