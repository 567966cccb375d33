// SPDX-License-Identifier: GPL-2.0
// mmapdemo-bench: the parts of `make bench` for one loaded driver (in a
// guest), or the user-space baselines alone (--no-device, on the host).
// Writes one JSON document: the environment, one row per variant and figure,
// and notes. Progress goes to stderr.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "parts.hpp"
#include "report.hpp"

namespace {

namespace bench = mmapdemo::bench;

// The first line of a file, "" if it cannot be read (e.g. debugfs on a host).
std::string first_line(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

// "always [madvise] never" -> "madvise".
std::string bracketed(const std::string& line) {
  const auto open = line.find('[');
  const auto close = line.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return line;
  return line.substr(open + 1, close - open - 1);
}

// Splits a comma-separated list by hand: CLI11 2.1's ->delimiter(',') brings
// in CLI::detail::split(), whose inlined vector growth GCC 12 at -O2 (the
// guests' RelWithDebInfo build; not -O3) reports as -Wnull-dereference.
std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::string cpu_model() {
  std::ifstream in{"/proc/cpuinfo"};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "";
}

bench::Json env_json(const bench::Config& config, const std::string& accel,
                     const std::string& label) {
  utsname u{};
  ::uname(&u);
  const auto fault_around = first_line("/sys/kernel/debug/fault_around_bytes");
  bench::Json strategies = bench::Json::array();
  for (const auto s : config.strategies) strategies.push_back(bench::strategy_name(s));
  return bench::Json{{"label", label},
                     {"kernel", u.release},
                     {"vcpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                     {"accelerator", accel},
                     {"cpu", cpu_model()},
                     {"thp", bracketed(first_line("/sys/kernel/mm/transparent_hugepage/enabled"))},
                     {"fault_around_bytes", fault_around.empty() ? "unknown" : fault_around},
                     {"page_size", ::sysconf(_SC_PAGESIZE)},
                     {"reps", config.reps},
                     {"backend", config.backend},
                     {"buffer_size", config.device_size},
                     {"strategies", std::move(strategies)}};
}

int run(int argc, char** argv) {
  CLI::App app{"Benchmarks of /dev/mmapdemo against anonymous memory, memfd, pipes and sockets"};
  std::string device{mmapdemo::default_path};
  bool no_device = false;
  const std::vector<std::string> all_parts{"bandwidth", "first-touch", "seed-002", "ipc",
                                           "scaling"};
  std::string parts_list = "all";
  bench::Config config;
  std::string output = "-";
  std::string accel = "unknown";
  std::string label;
  app.add_option("--device", device, "The device")->capture_default_str();
  app.add_flag("--no-device", no_device,
               "User-space baselines only (anon, memfd, pipe, socket), e.g. on the host");
  app.add_option("--parts", parts_list,
                 "Comma-separated parts: bandwidth, first-touch, seed-002, ipc, scaling; or all")
      ->capture_default_str();
  app.add_option("--reps", config.reps, "Repetitions of each variant (the issue asks >= 10)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--json", output, "Where to write the results ('-': stdout)")
      ->capture_default_str();
  app.add_option("--accel", accel, "The accelerator to record (tcg, kvm, none)");
  app.add_option("--label", label, "A name for this run in the results");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 returns 0 for --help, 100 and up for its errors; usage errors are 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  const auto parts = parts_list == "all" ? all_parts : split(parts_list);
  for (const auto& part : parts) {
    if (std::find(all_parts.begin(), all_parts.end(), part) == all_parts.end()) {
      std::cerr << "mmapdemo-bench: unknown part '" << part << "'\n";
      return 2;
    }
  }

  try {
    if (!no_device) {
      config.device = device;
      const auto info = mmapdemo::Device::open(device).info();
      config.backend = std::string{mmapdemo::to_string(info.backend)};
      config.device_size = info.size;
      config.strategies = bench::probe_strategies(device);
    }
    config.max_procs = static_cast<int>(std::clamp(2 * ::sysconf(_SC_NPROCESSORS_ONLN), 2L, 8L));

    bench::Results results;
    for (const auto& part : parts) {
      if (part == "bandwidth") bench::bandwidth(results, config);
      if (part == "first-touch") bench::first_touch(results, config);
      if (part == "seed-002") bench::seed_002(results, config);
      if (part == "ipc") bench::ipc(results, config);
      if (part == "scaling") bench::scaling(results, config);
    }
    const auto text = bench::results_json(results, env_json(config, accel, label))
                          .dump(-1, ' ', false, bench::Json::error_handler_t::replace);
    if (output == "-") {
      std::cout << text << '\n';
    } else {
      std::ofstream out{output};
      out << text << '\n';
      if (!out.flush()) throw std::runtime_error("cannot write " + output);
    }
    bench::progress("done");
  } catch (const std::exception& e) {
    std::cerr << "mmapdemo-bench: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // run() reports what it expects; this is for the rest (bad_alloc setting up).
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mmapdemo-bench: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "mmapdemo-bench: unexpected exception\n";
  }
  return 1;
}
