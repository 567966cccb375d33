// SPDX-License-Identifier: GPL-2.0
// The read-vs-mmap scenario: add one to each of a few thousand ints, once
// with read() and write() and once through a mapping, on the device and on a
// regular file, and time both.
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/core.h>
#include <mmapdemo/mmapdemo.hpp>

#include "scenario.hpp"
#include "seed.hpp"

namespace mmapdemo::cli {

namespace {

using Int = std::int32_t;
using micros = std::chrono::duration<double, std::micro>;

// One pass as the article's first half does it: read the ints into memory,
// add one to each, write them back (in place: a plain write() after read()
// would continue after them).
void add_one_by_read(const std::string& path, std::size_t ints) {
  auto file = Device::open(path);
  std::vector<Int> values(ints);
  file.read_all(std::as_writable_bytes(std::span{values}), 0);
  for (auto& value : values) ++value;
  file.write_all(std::as_bytes(std::span{values}), 0);
  file.close();
}

// And as its second half does: map them, add one to each where they are,
// unmap.
void add_one_by_mmap(const std::string& path, std::size_t ints) {
  auto file = Device::open(path);
  auto mapping = Mapping::map(file, ints * sizeof(Int));
  auto* const bytes = mapping.data();
  for (std::size_t i = 0; i < ints; ++i) {
    // memcpy: the mapping holds bytes, not Int objects; this compiles to a
    // plain load and store.
    Int value;
    std::memcpy(&value, bytes + i * sizeof value, sizeof value);
    ++value;
    std::memcpy(bytes + i * sizeof value, &value, sizeof value);
  }
  mapping.unmap();
  file.close();
}

template <class F>
double time_of(F f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return micros{std::chrono::steady_clock::now() - start}.count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string runs(const std::vector<double>& values) {
  std::string out;
  for (const auto value : values) out += fmt::format("{:>8.0f}", value);
  return out;
}

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
      target.by_read.push_back(time_of([&] { add_one_by_read(target.path, options.ints); }));
      target.by_mmap.push_back(time_of([&] { add_one_by_mmap(target.path, options.ints); }));
    }
  }

  fmt::print("  {:<6}  {:<16}  {:<{}}  {:>8}\n", "target", "method", "microseconds per run",
             8 * options.repeat, "median");
  for (const auto& target : targets) {
    fmt::print("  {:<6}  {:<16}  {}  {:>8.0f}\n", target.label, "read()+write()",
               runs(target.by_read), median(target.by_read));
    fmt::print("  {:<6}  {:<16}  {}  {:>8.0f}\n", target.label, "mmap()+munmap()",
               runs(target.by_mmap), median(target.by_mmap));
  }
  for (const auto& target : targets) {
    say(who, "on the {}, read()+write() took {:.2f} times as long as mmap() (medians of {} runs)",
        target.label, median(target.by_read) / median(target.by_mmap), options.repeat);
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
