// SPDX-License-Identifier: GPL-2.0
// The read-vs-mmap scenario: add one to each of a few thousand ints, once
// with read() and write() and once through a mapping, on the device and on a
// regular file, and time both: the experiment and the medians of
// mmapdemo-bench's seed-002 part (bench/read_vs_mmap.hpp, bench/stats.hpp).
#include <fcntl.h>

#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <mmapdemo/mmapdemo.hpp>

#include "read_vs_mmap.hpp"
#include "scenario.hpp"
#include "seed.hpp"
#include "stats.hpp"

namespace mmapdemo::cli {

namespace {

using bench::Int;

struct Target {
  std::string label;
  std::string path;
  std::vector<double> by_read;
  std::vector<double> by_mmap;
};

}  // namespace

int seed_read_vs_mmap(const std::string& path, const TimingOptions& options) {
  Story story{"read-vs-mmap",
              fmt::format("add one to each of {} ints with read() and write(), and through "
                          "mmap(); on the device and on a regular file",
                          options.ints)};
  const std::string_view who = "process";
  const auto bytes = options.ints * sizeof(Int);

  TempDir dir{"mmapdemo-timing"};
  std::vector<Target> targets{{"device", path, {}, {}}, {"file", dir.create("ints"), {}, {}}};
  std::vector<Int> start(options.ints);
  for (std::size_t i = 0; i < start.size(); ++i) start[i] = static_cast<Int>(i);
  for (const auto& target : targets) {
    Device::open(target.path).write_all(std::as_bytes(std::span{start}), 0);
    say(who, "wrote the ints 0 to {} ({} bytes) to {}", options.ints - 1, bytes, target.path);
  }

  for (int run = 0; run < options.repeat; ++run) {
    for (auto& target : targets) {
      target.by_read.push_back(
          bench::micros_per_run(1, [&] { bench::add_one_by_read(target.path, bytes); }));
      target.by_mmap.push_back(
          bench::micros_per_run(1, [&] { bench::add_one_by_mmap(target.path, bytes); }));
    }
  }

  fmt::print("  {:<6}  {:<16}  {:<{}}  {:>8}\n", "target", "method", "microseconds per run",
             8 * options.repeat, "median");
  for (const auto& target : targets) {
    fmt::print("  {:<6}  {:<16}  {:>8.0f}  {:>8.0f}\n", target.label, "read()+write()",
               fmt::join(target.by_read, ""), bench::median(target.by_read));
    fmt::print("  {:<6}  {:<16}  {:>8.0f}  {:>8.0f}\n", target.label, "mmap()+munmap()",
               fmt::join(target.by_mmap, ""), bench::median(target.by_mmap));
  }
  for (const auto& target : targets) {
    say(who, "on the {}, read()+write() took {:.2f} times as long as mmap() (medians of {} runs)",
        target.label, bench::median(target.by_read) / bench::median(target.by_mmap),
        options.repeat);
  }
  story.note(
      "every run includes open() and close(), and the mapping's runs munmap() too. These are "
      "the numbers of this machine at this moment only: under QEMU without KVM (TCG, as `make "
      "demo` runs) every instruction is emulated and timings are noisy, so they say little "
      "about real hardware");

  const auto runs_each = static_cast<Int>(2 * options.repeat);
  for (const auto& target : targets) {
    std::vector<Int> end(options.ints);
    Device::open(target.path, O_RDONLY).read_all(std::as_writable_bytes(std::span{end}), 0);
    bool all = true;
    for (std::size_t i = 0; i < end.size(); ++i) all = all && end[i] == start[i] + runs_each;
    story.check(all, fmt::format("every int of the {} grew by {}: one per run of each method",
                                 target.label, runs_each));
  }
  return story.verdict();
}

}  // namespace mmapdemo::cli
