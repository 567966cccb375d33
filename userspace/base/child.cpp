// SPDX-License-Identifier: GPL-2.0
#include "mmapdemo/base/child.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <span>
#include <stdexcept>
#include <system_error>

#include "mmapdemo/base/io.hpp"

namespace mmapdemo::base {
namespace {

// The write end of the message pipe, in the child only.
int child_messages = -1;

using Clock = std::chrono::steady_clock;

}  // namespace

ChildEnd ended(int status) {
  if (WIFSIGNALED(status)) return {ChildEnd::Kind::killed, WTERMSIG(status), {}};
  return {ChildEnd::Kind::exited, WEXITSTATUS(status), {}};
}

// Reaps pid within timeout; false if it could not be (stuck in the kernel).
bool reap(pid_t pid, std::chrono::milliseconds timeout, int& status) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR)
      throw std::system_error(errno, std::generic_category(), "waitpid");
    if (Clock::now() >= deadline) return false;
    ::usleep(1000);
  }
}

std::string signal_name(int signal) {
  if (signal == 0) return "no signal";
  const char* const abbreviation = ::sigabbrev_np(signal);
  std::string name = abbreviation != nullptr ? std::string{"SIG"} + abbreviation
                                             : "signal " + std::to_string(signal);
  return name + " (" + ::strsignal(signal) + ")";
}

std::string describe(const ChildEnd& end) {
  std::string text;
  switch (end.kind) {
    case ChildEnd::Kind::exited:
      text = "exited with status " + std::to_string(end.value);
      break;
    case ChildEnd::Kind::killed:
      text = "was killed by " + signal_name(end.value);
      break;
    case ChildEnd::Kind::timed_out:
      text = "did not end in time";
      break;
  }
  if (!end.message.empty()) text += " (" + end.message + ")";
  return text;
}

Child::Child(const std::function<int()>& body) {
  auto pipe = make_pipe();
  std::fflush(nullptr);  // or both processes would print what is buffered
  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ > 0) {
    // Non-blocking: a grandchild may keep the write end open after the child is gone.
    ::fcntl(pipe.read.get(), F_SETFL, O_NONBLOCK);
    messages_ = std::move(pipe.read);
    return;
  }
  pipe.read.reset();
  child_messages = pipe.write.release();
  run_child(body, &Child::say);
}

void run_child(const std::function<int()>& body, void (*report)(std::string_view) noexcept) {
  // A test framework's handlers would report the child's fatal signal as
  // the parent failing; the parent wants to see the signal instead.
  for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT}) {
    std::signal(sig, SIG_DFL);
  }
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // a probe's fault is expected, not a crash to keep
  int status = 125;
  try {
    status = body();
  } catch (const std::exception& e) {
    report(e.what());
  } catch (...) {
    report("unknown exception");
  }
  std::fflush(nullptr);
  ::_exit(status);  // not exit(): the parent's atexit handlers and buffers are its own
}

Child::~Child() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  try {
    static_cast<void>(reap(pid_, std::chrono::seconds{2}, status));
  } catch (...) {
  }
}

void Child::say(std::string_view message) noexcept {
  if (child_messages < 0) return;
  // One message a child: a later one replaces what the pipe already holds.
  static_cast<void>(write_fully(child_messages, std::as_bytes(std::span{message})));
  static_cast<void>(write_fully(child_messages, std::as_bytes(std::span{"\n", 1})));
}

ChildEnd Child::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("Child::wait: no child");
  int status = 0;
  ChildEnd end;
  if (reap(pid_, timeout, status)) {
    end = ended(status);
  } else {
    ::kill(pid_, SIGKILL);
    end = {ChildEnd::Kind::timed_out, 0, {}};
    if (!reap(pid_, std::chrono::seconds{2}, status)) return end;  // the destructor tries again
  }
  pid_ = -1;
  // The child is gone, so the pipe holds all it said, up to its size.
  std::array<std::byte, 4096> said{};
  const auto n = read_to_end(messages_.get(), said);
  messages_.reset();
  std::string text{reinterpret_cast<const char*>(said.data()), n};
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto last = text.rfind('\n');
  end.message = last == std::string::npos ? text : text.substr(last + 1);
  return end;
}

}  // namespace mmapdemo::base
