// SPDX-License-Identifier: GPL-2.0
// mmapdemo: look at /dev/mmapdemo and re-enact the seed scenarios with it.
#include <cstdio>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <mmapdemo/mmapdemo.hpp>

#include "seed.hpp"

namespace {

int print_info(const std::string& path) {
  const auto device = mmapdemo::Device::open(path, O_RDONLY);
  const auto info = device.info();
  fmt::print(
      "device:     {}\n"
      "size:       {} bytes ({} pages)\n"
      "page size:  {} bytes\n"
      "backend:    {}\n"
      "strategy:   {} (default for new files: {})\n",
      path, info.size, info.page_size != 0 ? info.size / info.page_size : 0, info.page_size,
      mmapdemo::to_string(info.backend), mmapdemo::to_string(info.strategy),
      mmapdemo::to_string(info.default_strategy));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A and B share the terminal: whole lines keep their output apart.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  CLI::App app{"Explore /dev/mmapdemo, one kernel buffer shared by every process that maps it"};
  app.name("mmapdemo");
  app.require_subcommand(1);
  app.fallthrough();
  std::string device{mmapdemo::default_path};
  app.add_option("-d,--device", device, "Device node")->capture_default_str();

  auto* const info = app.add_subcommand("info", "Print size, page size, backend and strategy");

  auto* const seed = app.add_subcommand("seed", "Re-enact a seed scenario against the device");
  seed->require_subcommand(1);
  auto* const two_process = seed->add_subcommand(
      "two-process", "Process A maps the device, process B writes a message, A sees it");
  std::string role = "a";
  two_process->add_option("--role", role, "Which process of the scenario this is")
      ->check(CLI::IsMember({"a", "b"}))
      ->group("");  // internal: A starts B with --role b
  int timeout_ms = 5000;
  two_process->add_option("--timeout", timeout_ms, "How long A waits for B, in milliseconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*info) return print_info(device);
    return mmapdemo::cli::seed_two_process(
        device, role == "b" ? mmapdemo::cli::Role::b : mmapdemo::cli::Role::a,
        std::chrono::milliseconds{timeout_ms});
  } catch (const std::exception& e) {
    fmt::print(stderr, "mmapdemo: {}\n", e.what());
    return 1;
  }
}
