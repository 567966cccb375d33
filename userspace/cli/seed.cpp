// SPDX-License-Identifier: GPL-2.0
#include "seed.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <thread>

#include <fmt/core.h>
#include <mmapdemo/mmapdemo.hpp>

namespace mmapdemo::cli {

namespace {

using namespace std::chrono_literals;

// What A and B share: the first page of the buffer holds a sequence number,
// bumped after each message, and the NUL-terminated message itself.
class Board {
 public:
  static constexpr std::size_t text_offset = 8;
  static constexpr std::size_t text_capacity = 120;

  explicit Board(std::span<std::byte> page) : page_{page} {}

  [[nodiscard]] std::uint32_t sequence() const noexcept {
    return counter().load(std::memory_order_acquire);
  }

  [[nodiscard]] std::string text() const {
    const auto bytes = page_.subspan(text_offset, text_capacity);
    const auto end = std::find(bytes.begin(), bytes.end(), std::byte{0});
    return {reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::size_t>(end - bytes.begin())};
  }

  // The text first, then the sequence number: whoever sees the new number
  // (acquire) also sees the whole text (release).
  void post(std::string_view text) noexcept {
    const auto length = std::min(text.size(), text_capacity - 1);
    auto* const out = page_.data() + text_offset;
    std::memcpy(out, text.data(), length);
    std::memset(out + length, 0, text_capacity - length);
    counter().fetch_add(1, std::memory_order_release);
  }

 private:
  [[nodiscard]] std::atomic_ref<std::uint32_t> counter() const noexcept {
    return std::atomic_ref<std::uint32_t>{*reinterpret_cast<std::uint32_t*>(page_.data())};
  }

  std::span<std::byte> page_;
};

template <class... Args>
void say(std::string_view who, fmt::format_string<Args...> format, Args&&... args) {
  fmt::print("{} (pid {}): {}\n", who, ::getpid(),
             fmt::format(format, std::forward<Args>(args)...));
  std::fflush(stdout);
}

std::size_t page_size() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return fmt::format("ended with wait status {:#x}", status);
}

// B is this same binary, started afresh so that it inherits neither the
// mapping nor the open file: it reaches the buffer only through the device.
pid_t start_b(const std::string& path) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    std::array<char*, 8> argv{const_cast<char*>("mmapdemo"),    const_cast<char*>("--device"),
                              const_cast<char*>(path.c_str()),  const_cast<char*>("seed"),
                              const_cast<char*>("two-process"), const_cast<char*>("--role"),
                              const_cast<char*>("b"),           nullptr};
    ::execv("/proc/self/exe", argv.data());
    fmt::print(stderr, "mmapdemo: exec /proc/self/exe: {}\n", std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

int run_a(const std::string& path, std::chrono::milliseconds timeout) {
  auto device = Device::open(path);
  auto mapping = Mapping::map(device, page_size());
  Board board{mapping.bytes()};
  say("A", "opened {} and mapped its first page (MAP_SHARED) at {}", path,
      static_cast<const void*>(mapping.data()));
  say("A", "sees \"{}\"", board.text());
  board.post(fmt::format("hello from A (pid {})", ::getpid()));
  say("A", "wrote \"{}\"", board.text());

  const auto before = board.sequence();
  const pid_t b = start_b(path);
  say("A", "started B (pid {}); checking the mapping every 100 ms", b);

  bool seen = false;
  bool b_done = false;
  int status = 0;
  for (auto waited = 0ms; waited < timeout && !seen; waited += 100ms) {
    std::this_thread::sleep_for(100ms);
    if (board.sequence() != before) {
      say("A", "after {} ms sees \"{}\"", (waited + 100ms).count(), board.text());
      seen = true;
    } else if (b_done) {
      break;  // B is gone and wrote nothing
    } else {
      b_done = ::waitpid(b, &status, WNOHANG) == b;
    }
  }
  if (!b_done && ::waitpid(b, &status, 0) != b) {
    throw std::system_error(errno, std::generic_category(), "waitpid");
  }
  say("A", "B (pid {}) {}", b, describe_status(status));
  if (!seen) {
    fmt::print(stderr, "mmapdemo: A saw no message from B in {} within {} ms\n", path,
               timeout.count());
    return 1;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int run_b(const std::string& path) {
  auto device = Device::open(path);
  auto mapping = Mapping::map(device, page_size());
  Board board{mapping.bytes()};
  say("B", "opened {} on its own and mapped its first page (MAP_SHARED) at {}", path,
      static_cast<const void*>(mapping.data()));
  say("B", "sees \"{}\"", board.text());
  board.post(fmt::format("hello from B (pid {})", ::getpid()));
  say("B", "wrote \"{}\" and exits", board.text());
  return 0;
}

}  // namespace

int seed_two_process(const std::string& path, Role role, std::chrono::milliseconds timeout) {
  return role == Role::a ? run_a(path, timeout) : run_b(path);
}

}  // namespace mmapdemo::cli
