// SPDX-License-Identifier: GPL-2.0
#include "scenario.hpp"

#include <cstdio>

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

bool killed_by(const ChildEnd& end, int signal) {
  return end.kind == ChildEnd::Kind::killed && end.value == signal;
}

bool exited_with(const ChildEnd& end, int status) {
  return end.kind == ChildEnd::Kind::exited && end.value == status;
}

Probed probe(const std::byte* address, Access access, std::byte value) {
  base::Child child{[=] {
    // volatile: the access is the point, the compiler must not drop it.
    if (access == Access::read) {
      return std::to_integer<int>(*static_cast<const volatile std::byte*>(address));
    }
    *const_cast<volatile std::byte*>(static_cast<const volatile std::byte*>(address)) = value;
    return 0;
  }};
  const pid_t pid = child.pid();
  return {pid, child.wait(child_timeout)};
}

}  // namespace mmapdemo::cli
