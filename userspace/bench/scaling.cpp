// SPDX-License-Identifier: GPL-2.0
// Part 5, process scaling: 1, 2, 4 ... processes each map their own disjoint
// slice of the buffer, write once per page and unmap, all released at once.
// Informational under TCG, where the vCPUs are host threads and
// cross-CPU TLB flushes are emulated.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <list>
#include <stdexcept>

#include <fmt/core.h>
#include <mmapdemo/base/child.hpp>

#include "parts.hpp"

namespace mmapdemo::bench {

namespace {

constexpr std::size_t page = 4096;
constexpr int rounds = 1;  // map, touch, unmap this often per sample
// A child maps and touches its slice once: one still running after this is stuck.
constexpr std::chrono::milliseconds child_timeout = std::chrono::minutes{1};

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Aggregate pages per second of procs processes over total bytes.
double scaling_sample(const Config& config, Strategy strategy, int procs, std::size_t total) {
  const auto slice = total / static_cast<std::size_t>(procs) / page * page;
  // Plain objects, not structured bindings: lambdas capture them.
  auto go = base::make_pipe();
  auto done = base::make_pipe();

  // A list: a Child cannot move.
  std::list<base::Child> children;
  for (int p = 0; p < procs; ++p) {
    children.emplace_back([&, p] {
      go.write.reset();
      const auto file = open_with(config.device, strategy);
      char c;
      if (::read(go.read.get(), &c, 1) != 0) throw std::runtime_error("start signal");
      for (int r = 0; r < rounds; ++r) {
        auto mapping = Mapping::map(file, slice, static_cast<std::uint64_t>(p) * slice);
        for (std::size_t i = 0; i < slice; i += page) mapping.data()[i] = std::byte{1};
      }
      const auto end = now_ns();
      if (::write(done.write.get(), &end, sizeof end) != sizeof end) fail("write");
      return 0;
    });
  }
  done.write.reset();
  // Let the children open their files and block on the start signal.
  ::usleep(20'000);
  const auto start = now_ns();
  go.write.reset();  // EOF on go.read releases every child at once
  std::int64_t last = start;
  int ended = 0;
  for (; ended < procs; ++ended) {
    std::int64_t end = 0;
    if (::read(done.read.get(), &end, sizeof end) != sizeof end) break;
    last = std::max(last, end);
  }
  for (auto& child : children) {
    const auto end = child.wait(child_timeout);
    if (end.kind != base::ChildEnd::Kind::exited || end.value != 0) {
      throw std::runtime_error("scaling: a child " + base::describe(end));
    }
  }
  if (ended != procs) throw std::runtime_error("scaling: a child sent no end time");
  const auto pages = static_cast<double>(rounds) *
                     static_cast<double>(slice * static_cast<std::size_t>(procs)) /
                     static_cast<double>(page);
  return pages / (static_cast<double>(last - start) / 1e9);
}

}  // namespace

void scaling(Results& results, const Config& config) {
  if (config.device.empty()) return;
  const auto total = std::min(config.device_size, 4 * MiB);
  for (const auto strategy : config.strategies) {
    const auto name = strategy_name(strategy);
    progress(fmt::format("scaling {} {}", config.backend, name));
    std::vector<Variant> variants;
    for (int procs = 1; procs <= config.max_procs; procs *= 2) {
      variants.push_back(
          {fmt::format("{}/{}p", name, procs), config.backend, [&config, strategy, procs, total] {
             return std::vector<std::pair<std::string, double>>{
                 {"pages/s", scaling_sample(config, strategy, procs, total)}};
           }});
    }
    compare(results, {"scaling", "touch " + size_label(total), total, name + "/1p", true}, variants,
            config.reps);
  }
  results.notes.push_back(
      "scaling: informational only under TCG: vCPUs are host threads sharing a busy host, and "
      "cross-CPU TLB shootdowns are emulated");
}

}  // namespace mmapdemo::bench
