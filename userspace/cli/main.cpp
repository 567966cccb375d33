// SPDX-License-Identifier: GPL-2.0
// mmapdemo: look at and change /dev/mmapdemo, ring its doorbell, and
// re-enact the seed scenarios with it.
//
// Exit status: 0 on success, 1 when a call failed (or a scenario did not
// behave as documented), 2 for a usage error.
#include <fcntl.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <mmapdemo/mmapdemo.hpp>

#include "commands.hpp"
#include "format.hpp"
#include "seed.hpp"

namespace {

namespace cli = mmapdemo::cli;

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// Byte counts and other numbers: decimal or 0x hex with an optional K, M or
// G; never octal, never negative (CLI11 alone would read "010" as 8 and
// "-1" as 2^64 - 1).
CLI::Validator number(std::uint64_t min = 0,
                      std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  return CLI::Validator{[=](std::string& text) -> std::string {
                          const auto value = cli::parse_byte_count(text);
                          if (!value) {
                            return fmt::format(
                                "'{}' is not a number: decimal or 0x hex, optionally followed by "
                                "K, M or G",
                                text);
                          }
                          if (*value < min || *value > max) {
                            return fmt::format("{} is not between {} and {}", text, min, max);
                          }
                          text = std::to_string(*value);
                          return {};
                        },
                        "NUMBER"};
}

CLI::Option* add_offset(CLI::App* app, std::uint64_t& offset) {
  return app->add_option("-o,--offset", offset, "First byte, from the start of the buffer")
      ->transform(number())
      ->capture_default_str();
}

std::string failure_message(const CLI::App* app, const CLI::Error& e) {
  std::string help = app->get_help_ptr() != nullptr ? app->get_help_ptr()->get_name() : "--help";
  return fmt::format("mmapdemo: {}\nRun with {} for more information.\n", e.what(), help);
}

int run(int argc, char** argv) {
  CLI::App app{
      "Explore /dev/mmapdemo, one kernel buffer shared by every process that maps it, and "
      "re-enact with it the programs of the seed articles, three articles on mmap() (see "
      "'seed --help'). Exit status: 0 on success, 1 when a call "
      "failed or a scenario did not behave as documented, 2 for a usage error."};
  app.name("mmapdemo");
  app.require_subcommand(1);
  app.fallthrough();  // --device after the subcommand as well; subcommands inherit this
  app.failure_message(failure_message);
  std::string device{mmapdemo::default_path};
  app.add_option("-d,--device", device,
                 "Device node; read, write and fill also take a regular file")
      ->capture_default_str();

  auto* const info = app.add_subcommand("info", "Print size, page size, backend and strategy");

  cli::ReadOptions read_options;
  auto* const read = app.add_subcommand(
      "read", "Print bytes of the buffer as `hexdump -C` does, or the bytes themselves");
  add_offset(read, read_options.offset);
  read->add_option("-l,--length", read_options.length, "How many bytes")
      ->transform(number())
      ->capture_default_str();
  read->add_flag("--raw", read_options.raw, "Write the bytes themselves to standard output");

  cli::WriteOptions write_options;
  auto* const write =
      app.add_subcommand("write", "Write DATA, or standard input, into the buffer with write()");
  add_offset(write, write_options.offset);
  write->add_option("data", write_options.data, "The bytes to write; standard input when absent");
  write->add_flag("--ring", write_options.ring, "Ring the doorbell once written");

  cli::FillOptions fill_options;
  auto* const fill = app.add_subcommand(
      "fill", "Set a range of the buffer to one byte or a repeated pattern, through a mapping");
  add_offset(fill, fill_options.offset);
  fill->add_option("-l,--length", fill_options.length, "How many bytes (default: to the end)")
      ->transform(number());
  auto* const fill_value = fill->add_option_group("value", "What to fill with: exactly one of");
  fill_value->add_option("-b,--byte", fill_options.byte, "A byte, 0 to 255 (decimal or 0x hex)")
      ->transform(number(0, 255));
  fill_value
      ->add_option("-p,--pattern", fill_options.pattern,
                   "Text repeated from --offset on (its first byte lands at --offset)")
      ->check(CLI::Validator{[](const std::string& text) {
                               return text.empty() ? std::string{"the pattern is empty"}
                                                   : std::string{};
                             },
                             "TEXT"});
  fill_value->require_option(1);
  fill->add_flag("--ring", fill_options.ring, "Ring the doorbell once filled");

  cli::WatchOptions watch_options;
  std::optional<std::uint64_t> watch_timeout;
  auto* const watch = app.add_subcommand(
      "watch",
      "Sleep on the doorbell and print a range of the buffer, through a mapping, each time "
      "it rings");
  add_offset(watch, watch_options.offset);
  watch->add_option("-l,--length", watch_options.length, "How many bytes to show")
      ->transform(number(1))
      ->capture_default_str();
  watch->add_option("-c,--count", watch_options.count, "Exit after this many rings (0: never)")
      ->transform(number())
      ->capture_default_str();
  watch
      ->add_option("-t,--timeout", watch_timeout,
                   "Stop after this many milliseconds: exit status 1 if --count rings have "
                   "not all come by then, else 0")
      ->transform(number(0, std::numeric_limits<std::int32_t>::max()));
  watch->add_flag("--hex", watch_options.hex, "Show a hexdump rather than text");

  std::uint64_t ring_count = 1;
  auto* const ring = app.add_subcommand("ring", "Ring the doorbell: wakes every watcher");
  ring->add_option("-c,--count", ring_count, "How many times")
      ->transform(number(1))
      ->capture_default_str();

  std::uint64_t new_size = 0;
  auto* const resize = app.add_subcommand(
      "resize",
      "Change the buffer's size, like ftruncate(): grown pages read as zero, mappings past a "
      "smaller end raise SIGBUS; rings the doorbell");
  resize->add_option("size", new_size, "New size in bytes, rounded up to whole pages")
      ->required()
      ->transform(number(1));

  auto* const seed = app.add_subcommand(
      "seed",
      "Re-enact a program of the seed articles against the device, narrating it. The seed "
      "articles are three articles on mmap(): 000 on shared and private file mappings, IPC "
      "between unrelated processes and between a parent and its child, and where SIGBUS and "
      "SIGSEGV come from; 001 on a small file mapped shared; 002 timing read()/write() "
      "against mmap()");
  seed->require_subcommand(1);
  auto* const shared_write = seed->add_subcommand(
      "shared-write",
      "Change one byte through a MAP_SHARED mapping, msync(), munmap(); read() sees it "
      "(seed article 000 on mmap, section 2.1: a shared file mapping)");
  auto* const private_write = seed->add_subcommand(
      "private-write",
      "The same through MAP_PRIVATE: a private copy, the device does not change (seed article "
      "000 on mmap, section 2.2: a private file mapping)");
  auto* const two_process = seed->add_subcommand(
      "two-process",
      "Process A sleeps on the doorbell; process B maps the device on its own, writes a "
      "message and rings (seed article 000 on mmap, section 2.3: IPC between unrelated "
      "processes)");
  std::string role = "a";
  two_process->add_option("--role", role, "Which process of the scenario this is")
      ->check(CLI::IsMember({"a", "b"}))
      ->group("");  // internal: A starts B with --role b
  std::uint64_t two_process_timeout = 10000;
  two_process
      ->add_option("-t,--timeout", two_process_timeout, "How long A waits for B's ring, in ms")
      ->transform(number(1, std::numeric_limits<std::int32_t>::max()))
      ->capture_default_str();
  auto* const parent_child = seed->add_subcommand(
      "parent-child",
      "A parent maps the device and forks; the child reads its message and replies through "
      "the mapping (seed article 000 on mmap, section 2.4: IPC between parent and child)");
  auto* const bounds = seed->add_subcommand(
      "bounds",
      "Which bytes of a mapping work, which raise SIGBUS and which SIGSEGV: a short regular "
      "file, then the device (seed article 000 on mmap, section 1.4: SIGBUS and SIGSEGV)");
  cli::TimingOptions timing;
  auto* const read_vs_mmap = seed->add_subcommand(
      "read-vs-mmap",
      "Time read()+write() against mmap() adding one to each of many ints, on the device and "
      "on a regular file (seed article 002: read()/write() against mmap() timed)");
  read_vs_mmap->add_option("-n,--ints", timing.ints, "How many ints")
      ->transform(number(1, 1 << 20))
      ->capture_default_str();
  read_vs_mmap->add_option("-r,--repeat", timing.repeat, "Runs of each method")
      ->transform(number(1, 1000))
      ->capture_default_str();

  // Each subcommand's callback says what to run once the whole line parsed.
  std::function<int()> action;
  const auto on = [&action](CLI::App* command, std::function<int()> what) {
    command->callback([&action, what = std::move(what)] { action = what; });
  };
  on(info, [&] { return cli::info(device); });
  on(read, [&] { return cli::read(device, read_options); });
  on(write, [&] { return cli::write(device, write_options); });
  on(fill, [&] { return cli::fill(device, fill_options); });
  on(watch, [&] {
    if (watch_timeout) watch_options.timeout = std::chrono::milliseconds{*watch_timeout};
    return cli::watch(device, watch_options);
  });
  on(ring, [&] { return cli::ring(device, ring_count); });
  on(resize, [&] { return cli::resize(device, new_size); });
  on(shared_write, [&] { return cli::seed_shared_write(device); });
  on(private_write, [&] { return cli::seed_private_write(device); });
  on(two_process, [&] {
    return cli::seed_two_process(device, role == "b" ? cli::Role::b : cli::Role::a,
                                 std::chrono::milliseconds{two_process_timeout});
  });
  on(parent_child, [&] { return cli::seed_parent_child(device); });
  on(bounds, [&] { return cli::seed_bounds(device); });
  on(read_vs_mmap, [&] { return cli::seed_read_vs_mmap(device, timing); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 returns 0 for --help and 100 and up for its errors; usage
    // errors are 2 here, as with most commands.
    return app.exit(e) == 0 ? 0 : exit_usage;
  }

  int status = exit_failure;
  try {
    if (action) status = action();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "mmapdemo: {}\n", e.what());
    return exit_failure;
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    fmt::print(stderr, "mmapdemo: write standard output: {}\n", std::strerror(errno));
    return exit_failure;
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  // A and B of a scenario share the terminal: whole lines keep them apart.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // run() reports what it expects; this is for the rest (bad_alloc setting up).
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmapdemo: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "mmapdemo: unexpected exception\n");
  }
  return exit_failure;
}
