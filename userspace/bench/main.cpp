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

#include "json.hpp"
#include "parts.hpp"

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

// Splits a comma-separated list by hand: CLI11's own splitting trips GCC
// 12's -Wnull-dereference in a static build.
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

void write_env(bench::JsonWriter& json, const bench::Config& config, const std::string& accel,
               const std::string& label) {
  utsname u{};
  ::uname(&u);
  const auto fault_around = first_line("/sys/kernel/debug/fault_around_bytes");
  json.key("env").begin_object();
  json.key("label").value(label);
  json.key("kernel").value(std::string_view{u.release});
  json.key("vcpus").value(static_cast<std::int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  json.key("accelerator").value(accel);
  json.key("cpu").value(cpu_model());
  json.key("thp").value(bracketed(first_line("/sys/kernel/mm/transparent_hugepage/enabled")));
  json.key("fault_around_bytes").value(fault_around.empty() ? "unknown" : fault_around);
  json.key("page_size").value(static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE)));
  json.key("reps").value(static_cast<std::int64_t>(config.reps));
  json.key("backend").value(config.backend);
  json.key("buffer_size").value(static_cast<std::uint64_t>(config.device_size));
  json.key("strategies").begin_array();
  for (const auto s : config.strategies) json.value(bench::strategy_name(s));
  json.end_array();
  json.end_object();
}

void write_summary(bench::JsonWriter& json, const bench::Summary& s) {
  json.begin_object();
  json.key("median").value(s.median);
  json.key("spread").value(s.spread);
  json.key("n").value(static_cast<std::uint64_t>(s.n));
  json.end_object();
}

std::string to_json(const bench::Results& results, const bench::Config& config,
                    const std::string& accel, const std::string& label) {
  bench::JsonWriter json;
  json.begin_object();
  json.key("schema").value("mmapdemo-bench/1");
  write_env(json, config, accel, label);
  json.key("rows").begin_array();
  for (const auto& row : results.rows) {
    json.begin_object();
    json.key("part").value(row.part);
    json.key("op").value(row.op);
    json.key("backend").value(row.backend);
    json.key("variant").value(row.variant);
    json.key("size").value(row.size);
    json.key("unit").value(row.unit);
    json.key("higher_is_better").value(row.higher_is_better);
    json.key("value");
    write_summary(json, row.value);
    json.key("baseline").value(row.baseline);
    json.key("ratio");
    if (row.ratio) {
      write_summary(json, *row.ratio);
    } else {
      json.null();
    }
    json.key("more_ratios").begin_object();
    for (const auto& [name, ratio] : row.more_ratios) {
      json.key(name);
      write_summary(json, ratio);
    }
    json.end_object();
    json.end_object();
  }
  json.end_array();
  json.key("notes").begin_array();
  for (const auto& note : results.notes) json.value(note);
  json.end_array();
  json.end_object();
  return json.str();
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
    const auto text = to_json(results, config, accel, label);
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
