// SPDX-License-Identifier: GPL-2.0
// A buffer of up to a gigabyte, as large as the guest's memory allows: its
// remap mapping (one remap_pfn_range() per physically contiguous run, up to
// one per page with the vmalloc backend) and resizes that copy nearly all of
// it keep no CPU to themselves. The scheduler's own detector proves it: with
// its LATENCY_WARN feature on, a tick that finds a reschedule pending on a
// CPU for longer than latency_warn_ms (here 200 ms) warns, and a thread on
// the same CPU keeps asking for one. A copy that never yields holds the CPU
// for all of it (about 100 ms per 256 MiB in an idle 6.12 guest) and trips
// it; one that yields every megabyte does not (the thread then waits 10-20
// ms at most). Only a kernel that does not preempt itself can hold a CPU
// so: Debian's 6.1 and 6.12, with voluntary preemption; where the kernel
// preempts (the debug kernel, Debian's 7.x) the test checks the rest and
// says it skipped the yield. The soft-lockup detector and RCU's stall reports
// (20 s) would only catch far longer holds; the runner fails the test on
// them all the same. The limit is far above what the copy's yields leave
// (the thread waits 10-20 ms) and above the 105 ms a busy host was seen to
// stall a guest for (the warning then counts a single tick), so the buffer
// must be large: guests of 3 GiB (Debian's kernels) and 4 GiB (the debug
// kernel's) run the test with 1 GiB.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

// MemAvailable of /proc/meminfo, in bytes.
std::uint64_t available_memory() {
  std::ifstream meminfo{"/proc/meminfo"};
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib << 10;
  }
  throw std::runtime_error("no MemAvailable in /proc/meminfo");
}

// Pins the calling thread, and the threads it starts from then on, to one
// CPU; back to the old set at the end.
class PinnedToOneCpu {
 public:
  PinnedToOneCpu() {
    if (::sched_getaffinity(0, sizeof(old_), &old_) != 0) {
      throw std::system_error(last_error(), "sched_getaffinity");
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(static_cast<std::size_t>(::sched_getcpu()), &one);
    if (::sched_setaffinity(0, sizeof(one), &one) != 0) {
      throw std::system_error(last_error(), "sched_setaffinity");
    }
  }
  PinnedToOneCpu(const PinnedToOneCpu&) = delete;
  PinnedToOneCpu& operator=(const PinnedToOneCpu&) = delete;
  ~PinnedToOneCpu() { ::sched_setaffinity(0, sizeof(old_), &old_); }

 private:
  cpu_set_t old_{};
};

// A thread that sleeps a millisecond at a time on the caller's CPU and
// notes the longest it waited to run again: how long the kernel kept
// that CPU from it.
class Ticker {
 public:
  Ticker()
      : thread_{[this] {
          auto last = std::chrono::steady_clock::now();
          while (!stop_.load()) {
            std::this_thread::sleep_for(1ms);
            const auto now = std::chrono::steady_clock::now();
            longest_ = std::max(longest_, now - last);
            last = now;
          }
        }} {}
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  ~Ticker() { stop(); }

  // Stops the thread; the longest gap it saw.
  std::chrono::milliseconds stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    return std::chrono::duration_cast<std::chrono::milliseconds>(longest_);
  }

 private:
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::duration longest_{};
  std::thread thread_;
};

// Turns the scheduler's warning about a CPU that runs on with a reschedule
// pending (debugfs sched/: the LATENCY_WARN feature, latency_warn_ms) on for
// its lifetime, and puts the three settings back. Only a kernel that does
// not preempt itself (voluntary preemption, Debian's default) can warn.
// The warning reads "sched: CPU 0 need_resched set for > 104000000 ns (26
// ticks) without schedule", a WARNING with the stuck task's stack. The
// kernel gives it once an hour at most: the first test of a boot that holds
// a CPU fails, later ones cannot.
class ReschedLatencyWarning {
 public:
  explicit ReschedLatencyWarning(std::chrono::milliseconds limit) {
    for (const char* file : {"preempt", "features", "latency_warn_ms", "latency_warn_once"}) {
      if (!std::filesystem::exists(dir_ + file)) {
        missing_ = "no " + dir_ + file + " (a kernel without PREEMPT_DYNAMIC or SCHED_DEBUG)";
        return;
      }
    }
    // The current mode is the one in parentheses: "none (voluntary) full".
    std::string mode;
    for (const auto& word : words(read_text(dir_ + "preempt"))) {
      if (word.size() > 2 && word.front() == '(' && word.back() == ')') {
        mode = word.substr(1, word.size() - 2);
      }
    }
    if (mode != "voluntary" && mode != "none") {
      missing_ = "the kernel runs with " + mode + " preemption, where no loop keeps a CPU " +
                 "from a thread (the debug kernel boots preempt=full, Debian's 7.x offer " +
                 "only full and lazy)";
      return;
    }
    const auto features = words(read_text(dir_ + "features"));
    const bool was_on =
        std::find(features.begin(), features.end(), "LATENCY_WARN") != features.end();
    saved_ = {read_text(dir_ + files_[0]), read_text(dir_ + files_[1]),
              was_on ? "LATENCY_WARN" : "NO_LATENCY_WARN"};
    // A write that fails leaves the ones before it to put back: no
    // destructor runs for a constructor that throws.
    const std::array<std::string, 3> wanted{std::to_string(limit.count()), "0", "LATENCY_WARN"};
    try {
      for (; changed_ < wanted.size(); ++changed_) {
        write_file(dir_ + files_.at(changed_), wanted.at(changed_));
      }
    } catch (...) {
      restore();
      throw;
    }
  }
  ReschedLatencyWarning(const ReschedLatencyWarning&) = delete;
  ReschedLatencyWarning& operator=(const ReschedLatencyWarning&) = delete;
  ~ReschedLatencyWarning() { restore(); }

  // Why the kernel cannot warn here; empty when it can.
  [[nodiscard]] const std::string& missing() const noexcept { return missing_; }

 private:
  // Puts back what the constructor changed, newest first. Must not throw
  // (it runs in the destructor); a setting that cannot be put back shows in
  // the next test's kernel log, if anywhere.
  void restore() noexcept {
    for (; changed_ > 0; --changed_) {
      try {
        write_file(dir_ + files_.at(changed_ - 1), saved_.at(changed_ - 1));
      } catch (const std::exception& e) {
        std::printf("note: scheduler setting %s not restored: %s\n", files_.at(changed_ - 1),
                    e.what());
      }
    }
  }

  static std::vector<std::string> words(const std::string& text) {
    std::istringstream in{text};
    std::vector<std::string> out;
    for (std::string word; in >> word;) out.push_back(word);
    return out;
  }

  const std::string dir_ = "/sys/kernel/debug/sched/";
  // The settings the constructor writes, in order, and what they held.
  static constexpr std::array<const char*, 3> files_{"latency_warn_ms", "latency_warn_once",
                                                     "features"};
  std::array<std::string, 3> saved_;
  std::size_t changed_ = 0;
  std::string missing_;
};

// "watchdog: BUG: soft lockup - CPU#0 stuck for 3s! [mmapdemo-tests:123]",
// "rcu: INFO: rcu_preempt self-detected stall on CPU" with the task after.
bool is_stall_report(const std::string& message) {
  return message.find("soft lockup") != std::string::npos ||
         message.find("detected stall") != std::string::npos ||
         message.find("detected expedited stall") != std::string::npos;
}

bool names_this_process(const std::string& message) {
  return message.find("[mmapdemo-tests:") != std::string::npos ||
         message.find("mmapdemo-tests/") != std::string::npos;
}

TEST_CASE("large: a gigabyte mapping and resize yield the CPU", "[large]") {
  auto module = Module::require();
  const char* const backend = std::getenv("MMAPDEMO_BACKEND");
  if (backend == nullptr || std::string{backend} == "kmalloc") {
    SKIP("the kmalloc backend ends at 4 MiB; this runs with vmalloc and chunked");
  }
  // A resize holds the buffer and its replacement at once.
  constexpr std::uint64_t gib = 1u << 30;
  constexpr std::uint64_t step = 2u << 20;
  const auto room = available_memory();
  // Two buffers, and KASAN's shadow of them on the debug kernel.
  const auto fits = [room](std::uint64_t size) { return size * 5 / 2 <= room; };
  std::uint64_t size = gib;
  while (size > (128u << 20) && !fits(size)) size /= 2;
  if (!fits(size)) SKIP("the guest has " + std::to_string(room >> 20) + " MiB available");
  CAPTURE(size >> 20);
  module.unload();
  module.load_with(std::string{"backend="} + backend + " size=" + std::to_string(size));

  KernelLog log;

  const auto page = page_size();
  const auto seed = new_seed();
  const auto device = open_device(Strategy::remap);
  // A marked page every 64 MiB, the rest zero.
  std::vector<std::uint64_t> marks;
  for (std::uint64_t at = 0; at < size; at += 64u << 20) marks.push_back(at);
  for (const auto at : marks) write_all(device, pattern(page, at, seed), at);

  const PinnedToOneCpu pinned;
  const ReschedLatencyWarning warning{200ms};
  Ticker ticker;
  const auto started = std::chrono::steady_clock::now();
  auto mapping = Mapping::map(device, size);
  const auto mapped = std::chrono::steady_clock::now();
  device.resize(size - step);
  const auto shrunk = std::chrono::steady_clock::now();
  device.resize(size);
  const auto grown = std::chrono::steady_clock::now();
  const auto longest = ticker.stop();
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::printf(
      "note: %llu MiB: mmap %lld ms, shrink %lld ms, grow %lld ms; a thread on the same CPU waited "
      "up to %lld ms\n",
      static_cast<unsigned long long>(size >> 20), static_cast<long long>(ms(mapped - started)),
      static_cast<long long>(ms(shrunk - mapped)), static_cast<long long>(ms(grown - shrunk)),
      static_cast<long long>(longest.count()));

  for (const auto at : marks) {
    CAPTURE(at);
    CHECK_THAT(mapping.bytes().subspan(at, page), HasPattern(at, seed));
  }
  CHECK_THAT(mapping.bytes().last(page), IsFilledWith(std::byte{0}));
  mapping.unmap();

  std::vector<std::string> reports;
  for (auto& message : log.new_messages()) {
    // The scheduler's warning names the CPU, not the task: the test turned
    // it on, so whatever it reports happened during the test.
    const bool latency = message.find("need_resched set for") != std::string::npos;
    if (latency || (is_stall_report(message) && names_this_process(message))) {
      reports.push_back(std::move(message));
    }
  }
  CHECK(reports.empty());
  // The data and the stall reports were checked all the same.
  if (!warning.missing().empty()) SKIP("the yield is not checked: " << warning.missing());
}

}  // namespace
