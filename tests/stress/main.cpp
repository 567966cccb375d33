// SPDX-License-Identifier: GPL-2.0
// mmapdemo-stress: a seeded, randomized, multi-process stress of
// /dev/mmapdemo. The parent reads the buffer's geometry, starts one worker
// process per slice of the buffer (worker.cpp), waits for them under a
// deadline and prints one summary line.
//
//   mmapdemo-stress [--seed N] [--processes P] [--duration SECONDS] [--ops N]
//                   [--device PATH] [--worker W] [--verbose]
//
// The first line is always "seed N"; a failing run ends with the command
// that replays it. Exit status: 0 when every worker finished with no
// mismatch and no unexpected result, 1 otherwise, 2 for a usage error.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <mmapdemo/mmapdemo.hpp>

#include "stress.hpp"

namespace {

using namespace mmapdemo::stress;
using clock_type = std::chrono::steady_clock;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
// How long past --duration a worker may take before the parent kills it.
constexpr std::chrono::seconds grace{60};

constexpr std::string_view help =
    "Seeded randomized multi-process stress of /dev/mmapdemo. Each worker process owns one "
    "page-aligned slice of the buffer, keeps a model of its bytes and checks every read of "
    "them (read(), pread(), shared and private mappings, fresh mappings) against it, while it "
    "opens and closes files, maps, unmaps, mremaps, mprotects, forks, seeks, rings the "
    "doorbell and calls madvise(); every refused call must fail with its documented errno.\n\n"
    "The same seed replays the same sequence of operations in each worker (worker W draws "
    "from seed and W, and the slices depend on --processes); how the workers interleave "
    "depends on timing and is not replayable. --worker W replays one worker alone.\n\n"
    "A worker stops after --ops operations or when --duration is over, whichever comes "
    "first. Exit status: 0 with no mismatch and no unexpected result, 1 otherwise, 2 for a "
    "usage error.";

std::string replay_command(const Config& config, std::optional<unsigned> worker) {
  std::string command = fmt::format("mmapdemo-stress --seed {} --processes {} --duration {}",
                                    config.seed, config.processes, config.duration);
  if (config.ops != 0) command += fmt::format(" --ops {}", config.ops);
  if (config.device != mmapdemo::default_path) command += " --device " + config.device;
  if (worker) command += fmt::format(" --worker {}", *worker);
  return command;
}

// The per-worker counters, shared with the workers (MAP_SHARED anonymous).
class SharedStats {
 public:
  explicit SharedStats(std::size_t workers) {
    const std::size_t length = workers * sizeof(Stats);
    void* address =
        ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (address == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    region_ = Region{address, length};
    stats_ = {static_cast<Stats*>(address), workers};
    std::uninitialized_value_construct(stats_.begin(), stats_.end());
  }
  Stats& operator[](std::size_t i) { return stats_[i]; }
  [[nodiscard]] std::span<const Stats> all() const { return stats_; }

 private:
  Region region_;
  std::span<Stats> stats_;
};

struct Child {
  pid_t pid;
  unsigned worker;
  bool done = false;
  bool ok = false;  // exited with status 0
};

// Waits for every worker, kills those still running at the deadline, and
// returns how many did not exit with status 0. Never hangs: a worker that
// even SIGKILL cannot end (stuck in the kernel) is given up on after 10 s.
unsigned wait_for(std::vector<Child>& children, SharedStats& stats,
                  clock_type::time_point deadline) {
  unsigned failed = 0;
  bool killed = false;
  for (auto running = children.size(); running > 0;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    auto child = std::ranges::find(children, pid, &Child::pid);
    if (child != children.end()) {
      child->done = true;
      --running;
      child->ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (child->ok) continue;
      ++failed;
      const std::uint64_t op = stats[child->worker].ops;
      if (WIFSIGNALED(status)) {  // SIGALRM: the worker's own watchdog
        fmt::print(stderr, "mmapdemo-stress: FAIL worker {} killed by SIG{} in op #{}\n",
                   child->worker, sigabbrev_np(WTERMSIG(status)), op);
      } else {
        fmt::print(stderr, "mmapdemo-stress: worker {} failed in op #{}\n", child->worker, op);
      }
      continue;
    }
    if (clock_type::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
      continue;
    }
    for (const auto& c : children) {
      if (c.done) continue;
      fmt::print(stderr, "mmapdemo-stress: FAIL worker {} (op #{}) {}\n", c.worker,
                 stats[c.worker].ops,
                 killed ? "did not die of SIGKILL; giving up on it"
                        : "still running 60 s after --duration; killing it");
      if (!killed) ::kill(c.pid, SIGKILL);
    }
    if (killed) return failed + static_cast<unsigned>(running);
    killed = true;
    deadline = clock_type::now() + std::chrono::seconds{10};
  }
  return failed;
}

int run(Config& config) {
  fmt::print("seed {}\n", config.seed);
  std::error_code ec;
  const auto device = mmapdemo::Device::open(config.device, O_RDWR, ec);
  if (ec) {
    fmt::print(stderr, "mmapdemo-stress: open {}: {}\n", config.device, ec.message());
    return exit_failure;
  }
  const auto info = device.info(ec);
  if (ec) {
    fmt::print(stderr, "mmapdemo-stress: GET_INFO {}: {}\n", config.device, ec.message());
    return exit_failure;
  }
  const std::uint64_t slice_pages = info.size / info.page_size / config.processes;
  if (slice_pages < 2) {
    fmt::print(stderr,
               "mmapdemo-stress: a buffer of {} pages cannot give {} workers 2 pages each; use "
               "fewer --processes\n",
               info.size / info.page_size, config.processes);
    return exit_usage;
  }
  const Geometry geometry{info, slice_pages * info.page_size};
  fmt::print(
      "{} worker(s), {} page(s) each, of a {} byte buffer ({}, default strategy {}); "
      "{} s{}\n",
      config.only_worker < 0 ? config.processes : 1U, slice_pages, info.size,
      mmapdemo::to_string(info.backend), mmapdemo::to_string(info.default_strategy),
      config.duration, config.ops != 0 ? fmt::format(" or {} operations", config.ops) : "");

  SharedStats stats{config.processes};
  std::vector<Child> children;
  const auto deadline = clock_type::now() + std::chrono::seconds{config.duration} + grace;
  for (unsigned w = 0; w < config.processes; ++w) {
    if (config.only_worker >= 0 && w != static_cast<unsigned>(config.only_worker)) continue;
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int status = run_worker(config, geometry, w, stats[w]);
      std::fflush(stdout);
      std::fflush(stderr);
      ::_exit(status);
    }
    if (pid < 0) {
      fmt::print(stderr, "mmapdemo-stress: fork: {}\n", std::strerror(errno));
      for (const auto& child : children) ::kill(child.pid, SIGKILL);
      wait_for(children, stats, clock_type::now());
      return exit_failure;
    }
    children.push_back(Child{pid, w});
  }
  const unsigned failed_workers = wait_for(children, stats, deadline);

  Stats total{};
  for (const auto& s : stats.all()) {
    for (std::size_t i = 0; i < op_count; ++i) total.counts.at(i) += s.counts.at(i);
    total.ops += s.ops;
    total.mismatches += s.mismatches;
    total.unexpected += s.unexpected;
  }
  std::vector<std::string> counts;
  for (std::size_t i = 0; i < op_count; ++i) {
    counts.push_back(fmt::format("{} {}", op_table.at(i).name, total.counts.at(i)));
  }
  fmt::print(
      "summary: {} operations ({}); {} mismatches, {} unexpected results, {} failed "
      "workers\n",
      total.ops, fmt::join(counts, ", "), total.mismatches, total.unexpected, failed_workers);
  const bool ok = total.mismatches == 0 && total.unexpected == 0 && failed_workers == 0;
  if (!ok) {
    fmt::print("FAILED; replay: {}\n", replay_command(config, std::nullopt));
    for (const auto& child : children) {
      if (!child.ok) {
        fmt::print("  worker {} alone: {} --verbose\n", child.worker,
                   replay_command(config, child.worker));
      }
    }
  }
  return ok ? 0 : exit_failure;
}

int stress_main(int argc, char** argv) {
  // Workers share the terminal: whole lines keep them apart.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  CLI::App app{std::string{help}};
  app.name("mmapdemo-stress");
  Config config;
  std::optional<std::uint64_t> seed;
  app.add_option("--seed", seed, "Seed of every worker's generator (default: from the clock)");
  app.add_option("-p,--processes", config.processes, "Worker processes")
      ->check(CLI::Range(1U, 256U))
      ->capture_default_str();
  app.add_option("-t,--duration", config.duration, "Seconds to run")
      ->check(CLI::Range(1U, 86400U))
      ->capture_default_str();
  app.add_option("-n,--ops", config.ops, "Operations per worker (default: no limit)");
  app.add_option("-d,--device", config.device, "Device node")->capture_default_str();
  app.add_option("--worker", config.only_worker, "Run only this worker (replays it alone)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("-v,--verbose", config.verbose, "Log every operation");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  if (config.only_worker >= static_cast<int>(config.processes)) {
    fmt::print(stderr, "mmapdemo-stress: --worker {} but only {} processes\n", config.only_worker,
               config.processes);
    return exit_usage;
  }
  config.seed = seed.value_or(static_cast<std::uint64_t>(
      std::chrono::system_clock::now().time_since_epoch().count() ^ ::getpid()));
  return run(config);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return stress_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmapdemo-stress: %s\n", e.what());
  } catch (...) {
    std::fputs("mmapdemo-stress: unknown exception\n", stderr);
  }
  return exit_failure;
}
