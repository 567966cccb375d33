// SPDX-License-Identifier: GPL-2.0
// The mmapdemo command, run as a program (MMAPDEMO_CLI, else /bin/mmapdemo;
// SKIP without it): what each subcommand prints and changes, its exit status
// (0 done, 1 a call failed, 2 a usage error), and every seed scenario
// behaving as documented. Usage errors, --help, a missing device and a
// regular file standing in for the device need no module and run on the
// host too.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>
#include <mmapdemo/base/temp_dir.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};
const std::string missing = "/nonexistent/mmapdemo";

std::string cli_path() {
  const char* const env = std::getenv("MMAPDEMO_CLI");
  return env != nullptr && *env != '\0' ? env : "/bin/mmapdemo";
}

// SKIPs the test case when there is no command to run.
void require_cli() {
  if (::access(cli_path().c_str(), X_OK) != 0) {
    SKIP("no mmapdemo command at " << cli_path() << " (set MMAPDEMO_CLI)");
  }
}

std::vector<std::string> command(std::vector<std::string> args) {
  args.insert(args.begin(), cli_path());
  return args;
}

Output mmapdemo(std::vector<std::string> args, std::string input = {}) {
  return run_program(command(std::move(args)), std::move(input));
}

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span{text.data(), text.size()});
}

// The command lines given, then every seed scenario's.
std::vector<std::vector<std::string>> and_every_seed(
    std::vector<std::vector<std::string>> commands) {
  for (const auto* scenario :
       {"shared-write", "private-write", "two-process", "parent-child", "bounds", "read-vs-mmap"}) {
    commands.push_back({"seed", scenario});
  }
  return commands;
}

// A regular file of size bytes, all zero, in a directory of its own under
// $TMPDIR (or /tmp); both removed after.
class TempFile {
 public:
  explicit TempFile(std::size_t size) : path_{dir_.create("file")} {
    if (::truncate(path_.c_str(), static_cast<off_t>(size)) != 0) {
      throw std::system_error(last_error(), "truncate " + path_);
    }
  }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  base::TempDir dir_{"mmapdemo-cli"};
  std::string path_;
};

// ---- usage, help and failures: no module needed ----------------------------------

TEST_CASE("cli: usage errors exit with status 2 and say what is wrong", "[cli]") {
  require_cli();
  const auto args = GENERATE(values<std::vector<std::string>>({
      {},                           // no subcommand
      {"frob"},                     // unknown subcommand
      {"info", "extra"},            // unexpected argument
      {"--device"},                 // missing option value
      {"read", "--offset"},         // missing option value
      {"read", "--offset", "abc"},  // bad value
      {"read", "--length", "-1"},   // negative
      {"read", "--offset", "010"},  // octal or decimal? neither
      {"fill"},                     // neither --byte nor --pattern
      {"fill", "--byte", "300"},    // not a byte
      {"fill", "--byte", "1", "--pattern", "x"},
      {"fill", "--pattern", ""},
      {"watch", "--length", "0"},
      {"watch", "--timeout", "soon"},
      {"ring", "--count", "0"},
      {"seed"},  // no scenario
      {"seed", "frob"},
      {"seed", "two-process", "--timeout", "0"},
      {"seed", "read-vs-mmap", "--repeat", "0"},
  }));
  CAPTURE(fmt::format("{}", fmt::join(args, " ")));
  const auto result = mmapdemo(args);
  CHECK(result.status == ChildStatus::exited(2));
  CHECK(result.out == "");
  CHECK(result.err.starts_with("mmapdemo: "));
  CHECK(result.err.ends_with("Run with --help for more information.\n"));
}

TEST_CASE("cli: --help of every subcommand exits 0 and shows its usage", "[cli]") {
  require_cli();
  const auto args = GENERATE(from_range(and_every_seed({
      {},
      {"info"},
      {"read"},
      {"write"},
      {"fill"},
      {"watch"},
      {"ring"},
      {"resize"},
      {"seed"},
  })));
  CAPTURE(fmt::format("{}", fmt::join(args, " ")));
  auto with_help = args;
  with_help.emplace_back("--help");
  const auto result = mmapdemo(with_help);
  CHECK(result.status == ChildStatus::exited(0));
  const auto usage =
      fmt::format("Usage: mmapdemo{}{} [OPTIONS]", args.empty() ? "" : " ", fmt::join(args, " "));
  CHECK(result.out.find(usage) != std::string::npos);
  CHECK(result.err == "");
}

// A help text that cites a seed article says what the article is, and no
// scenario is cited by number alone.
TEST_CASE("cli: seed help says what the seed articles are and what each scenario cites", "[cli]") {
  require_cli();
  const auto [scenario, cites] = GENERATE(table<std::string, std::string>({
      {"", "The seed articles are three articles on mmap(): 000 on shared and private file"},
      {"shared-write", "(seed article 000 on mmap, section 2.1: a shared file mapping)"},
      {"private-write", "(seed article 000 on mmap, section 2.2: a private file mapping)"},
      {"two-process", "section 2.3: IPC between unrelated processes)"},
      {"parent-child", "(seed article 000 on mmap, section 2.4: IPC between parent and child)"},
      {"bounds", "(seed article 000 on mmap, section 1.4: SIGBUS and SIGSEGV)"},
      {"read-vs-mmap", "(seed article 002: read()/write() against mmap() timed)"},
  }));
  CAPTURE(scenario);
  std::vector<std::string> args{"seed"};
  if (!scenario.empty()) args.push_back(scenario);
  args.emplace_back("--help");
  const auto result = mmapdemo(args);
  REQUIRE(result.status == ChildStatus::exited(0));
  // Help may wrap its lines: compare with runs of white space as one space.
  std::string text;
  for (const char c : result.out) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space || (!text.empty() && text.back() != ' ')) text += space ? ' ' : c;
  }
  CHECK(text.find(cites) != std::string::npos);
  CHECK(text.find("(article 0") == std::string::npos);
}

// Whatever the subcommand, the message names the device and the errno text.
TEST_CASE("cli: a missing device exits 1 naming the path and the errno text", "[cli]") {
  require_cli();
  const auto args = GENERATE(from_range(and_every_seed({
      {"info"},
      {"read"},
      {"write", "data"},
      {"fill", "--byte", "1"},
      {"watch", "--timeout", "100"},
      {"ring"},
      {"resize", "8192"},
  })));
  auto with_device = args;
  with_device.insert(with_device.begin(), {"--device", missing});
  CAPTURE(fmt::format("{}", fmt::join(with_device, " ")));
  const auto result = mmapdemo(with_device);
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err == "mmapdemo: open " + missing + ": No such file or directory\n");
}

TEST_CASE("cli: write read and fill work on a regular file standing in for the device", "[cli]") {
  require_cli();
  const TempFile file{8192};
  const auto& f = file.path();

  auto result = mmapdemo({"--device", f, "write", "--offset", "0x10", "hello, world"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "wrote 12 bytes at offset 16 of " + f + "\n");
  result = mmapdemo({"--device", f, "fill", "--offset", "28", "--length", "4", "--byte", "0x21"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "filled 4 bytes at offset 28 of " + f + " with byte 0x21\n");
  result = mmapdemo({"read", "--device", f, "--offset", "16", "--length", "16", "--raw"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "hello, world!!!!");
  result = mmapdemo({"read", "--device", f, "--length", "48"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out ==
        "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
        "00000010  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 21 21 21  |hello, world!!!!|\n"
        "00000020  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
        "00000030\n");

  // The doorbell and GET_INFO are the device's own.
  result = mmapdemo({"--device", f, "info"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err ==
        "mmapdemo: ioctl MMAPDEMO_IOC_GET_INFO " + f + ": Inappropriate ioctl for device\n");
  result = mmapdemo({"--device", f, "ring"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err ==
        "mmapdemo: ioctl MMAPDEMO_IOC_RING " + f + ": Inappropriate ioctl for device\n");
}

TEST_CASE("cli: fill quotes its pattern with C escapes and shows UTF-8 text as it is", "[cli]") {
  require_cli();
  const TempFile file{64};
  const auto& f = file.path();
  const auto result =
      mmapdemo({"--device", f, "fill", "--length", "8", "--pattern", "a\"b\\\tcaf\u00e9\x01"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out ==
        "filled 8 bytes at offset 0 of " + f + " with pattern \"a\\\"b\\\\\\tcaf\u00e9\\x01\"\n");
}

// ---- the device --------------------------------------------------------------------

TEST_CASE("cli: info prints the size page size backend and strategy of the device", "[cli]") {
  require_cli();
  require_device();
  const auto info = Device::open(path).info();
  const auto result = mmapdemo({"info"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.err == "");
  const auto strategy = std::string{to_string(info.default_strategy)};
  CHECK(result.out == "device:     " + path + "\n" +                                      //
                          "size:       " + std::to_string(info.size) + " bytes (" +       //
                          std::to_string(info.size / info.page_size) + " pages)\n" +      //
                          "page size:  " + std::to_string(info.page_size) + " bytes\n" +  //
                          "backend:    " + std::string{to_string(info.backend)} + "\n" +  //
                          "strategy:   " + strategy + " (default for new files: " + strategy +
                          ")\n");
}

TEST_CASE("cli: write then read round-trips as a hexdump and as raw bytes", "[cli]") {
  require_cli();
  require_device();
  const auto device = Device::open(path);
  write_all(device, std::vector<std::byte>(64, std::byte{0xff}), 4096);

  auto result = mmapdemo({"write", "--offset", "4100", "hello, world"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "wrote 12 bytes at offset 4100 of /dev/mmapdemo\n");
  CHECK(result.err == "");
  CHECK_THAT(read_all(device, 12, 4100), HasBytes(as_bytes("hello, world")));

  result = mmapdemo({"read", "--offset", "4100", "--length", "12", "--raw"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "hello, world");
  result = mmapdemo({"read", "--offset", "4K", "--length", "0x20"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out ==
        "00001000  ff ff ff ff 68 65 6c 6c  6f 2c 20 77 6f 72 6c 64  |....hello, world|\n"
        "00001010  ff ff ff ff ff ff ff ff  ff ff ff ff ff ff ff ff  |................|\n"
        "00001020\n");
}

TEST_CASE("cli: write takes its data from standard input when none is given", "[cli]") {
  require_cli();
  require_device();
  const auto device = Device::open(path);
  std::string data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));  // NUL, newline, 0xff
  data += data;

  const auto result = mmapdemo({"write", "--offset", "8192"}, data);
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "wrote 512 bytes at offset 8192 of /dev/mmapdemo\n");
  CHECK_THAT(read_all(device, data.size(), 8192), HasBytes(as_bytes(data)));
}

TEST_CASE("cli: write past the end of the buffer fails with ENOSPC", "[cli]") {
  require_cli();
  require_device();
  const auto size = Device::open(path).info().size;
  const auto end = std::to_string(size);

  auto result = mmapdemo({"write", "--offset", end, "x"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err ==
        "mmapdemo: pwrite /dev/mmapdemo (offset " + end + ", length 1): No space left on device\n");
  // Across the end: the part that fits is written, then the rest fails.
  result = mmapdemo({"write", "--offset", std::to_string(size - 2), "abcd"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err ==
        "mmapdemo: pwrite /dev/mmapdemo (offset " + end + ", length 2): No space left on device\n");
  CHECK_THAT(read_all(Device::open(path), 2, size - 2), HasBytes(as_bytes("ab")));
}

TEST_CASE("cli: fill sets a range to a byte or to a repeated pattern", "[cli]") {
  require_cli();
  require_device();
  const auto device = Device::open(path);
  const auto size = device.info().size;
  const auto page = page_size();
  const auto seed = new_seed();
  write_all(device, pattern(3 * page, 0, seed), 0);

  // Unaligned at both ends and across two page boundaries.
  auto result = mmapdemo({"fill", "--offset", std::to_string(page - 1), "--length",
                          std::to_string(page + 2), "--byte", "0xa5"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "filled " + std::to_string(page + 2) + " bytes at offset " +
                          std::to_string(page - 1) + " of /dev/mmapdemo with byte 0xa5\n");
  const auto after = read_all(device, 3 * page, 0);
  const std::span<const std::byte> bytes{after};
  CHECK_THAT(bytes.first(page - 1), HasPattern(0, seed));
  CHECK_THAT(bytes.subspan(page - 1, page + 2), IsFilledWith(std::byte{0xa5}));
  CHECK_THAT(bytes.subspan(2 * page + 1), HasPattern(2 * page + 1, seed));

  result = mmapdemo({"fill", "--offset", "10", "--length", "7", "--pattern", "abc"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "filled 7 bytes at offset 10 of /dev/mmapdemo with pattern \"abc\"\n");
  CHECK_THAT(read_all(device, 7, 10), HasBytes(as_bytes("abcabca")));
  CHECK_THAT(read_all(device, 10, 0), HasPattern(0, seed));
  CHECK_THAT(read_all(device, 10, 17), HasPattern(17, seed));

  // Without --length: to the end of the buffer.
  result = mmapdemo({"fill", "--offset", std::to_string(size - 3), "--byte", "7"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK_THAT(read_all(device, 3, size - 3), IsFilledWith(std::byte{7}));
}

TEST_CASE("cli: fill refuses a range that leaves the buffer", "[cli]") {
  require_cli();
  require_device();
  const auto size = Device::open(path).info().size;
  const auto result =
      mmapdemo({"fill", "--offset", std::to_string(size - 1), "--length", "2", "--byte", "0"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err == "mmapdemo: fill /dev/mmapdemo (offset " + std::to_string(size - 1) +
                          ", length 2; the buffer has " + std::to_string(size) +
                          " bytes): Invalid argument\n");
}

// The number of the device's latest ring, learned by ringing once.
std::uint64_t latest_ring() {
  const auto probe = Device::open(path);
  probe.ring();
  return probe.ack().value_or(0);
}

TEST_CASE("cli: ring rings the doorbell as many times as asked", "[cli]") {
  require_cli();
  require_device();
  const auto before = latest_ring();
  const auto device = Device::open(path);

  auto result = mmapdemo({"ring"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "rang /dev/mmapdemo 1 time\n");
  result = mmapdemo({"ring", "--count", "5"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "rang /dev/mmapdemo 5 times\n");
  for (std::uint64_t i = 1; i <= 6; ++i) CHECK(device.ack() == before + i);
  CHECK_FALSE(device.ack());
}

TEST_CASE("cli: resize changes the size or says why not", "[cli]") {
  require_cli();
  require_device();
  const RestoreSize restore;
  const auto size = restore.original();
  const auto page = page_size();

  auto result = mmapdemo({"resize", std::to_string(size + 1)});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out == "resized /dev/mmapdemo from " + std::to_string(size) + " to " +
                          std::to_string(size + page) + " bytes (" +
                          std::to_string(size / page + 1) + " pages)\n");
  CHECK(Device::open(path).info().size == size + page);

  result = mmapdemo({"resize", "1024G"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err ==
        "mmapdemo: ioctl MMAPDEMO_IOC_RESIZE /dev/mmapdemo (size 1099511627776): File too large\n");
  result = mmapdemo({"resize", "0"});
  CHECK(result.status == ChildStatus::exited(2));
  CHECK(Device::open(path).info().size == size + page);
}

TEST_CASE("cli: watch wakes on a ring and prints the new bytes", "[cli]") {
  require_cli();
  require_device();
  const auto offset = std::to_string(3 * page_size() + 5);  // not page-aligned
  write_all(Device::open(path), as_bytes("before!!"), 3 * page_size() + 5);
  const auto before = latest_ring();

  Subprocess watch{command(
      {"watch", "--offset", offset, "--length", "8", "--count", "1", "--timeout", "60000"})};
  // Once it says so, its file is open and will see the ring.
  REQUIRE(watch.wait_for_output("watching"));
  const auto writer = mmapdemo({"write", "--offset", offset, "--ring", "after!!!"});
  CHECK(writer.status == ChildStatus::exited(0));
  CHECK(writer.out ==
        "wrote 8 bytes at offset " + offset + " of /dev/mmapdemo, and rang the doorbell\n");
  const auto pid = watch.pid();
  const auto result = watch.finish();
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.err == "");
  CHECK(result.out == "watching /dev/mmapdemo offset " + offset + " length 8 (pid " +
                          std::to_string(pid) + "); waiting for 1 ring\n" + "now: \"before!!\"\n" +
                          "ring " + std::to_string(before + 1) + ": \"after!!!\"\n");
}

TEST_CASE("cli: watch --hex shows each ring as a hexdump and marks what did not change", "[cli]") {
  require_cli();
  require_device();
  write_all(Device::open(path), as_bytes("0123"), 16);
  const auto before = latest_ring();

  Subprocess watch{command(
      {"watch", "--offset", "16", "--length", "4", "--count", "2", "--hex", "--timeout", "60000"})};
  REQUIRE(watch.wait_for_output("watching"));
  // The first ring comes with new bytes, the second with none.
  CHECK(mmapdemo({"write", "--offset", "16", "--ring", "4567"}).status == ChildStatus::exited(0));
  CHECK(mmapdemo({"ring"}).status == ChildStatus::exited(0));
  const auto result = watch.finish();
  INFO("stdout:\n" << result.out);
  CHECK(result.status == ChildStatus::exited(0));
  const auto dump = [](std::string_view hex, std::string_view text) {
    return "00000010  " + std::string{hex} + std::string(50 - hex.size(), ' ') + "|" +
           std::string{text} + "|\n00000014\n";
  };
  CHECK(result.out.ends_with("now:\n" + dump("30 31 32 33", "0123") + "ring " +
                             std::to_string(before + 1) + ":\n" + dump("34 35 36 37", "4567") +
                             "ring " + std::to_string(before + 2) + ": (unchanged)\n" +
                             dump("34 35 36 37", "4567")));
}

TEST_CASE("cli: watch exits 1 when the rings it waits for do not come in time", "[cli]") {
  require_cli();
  require_device();
  auto result = mmapdemo({"watch", "--count", "1", "--timeout", "300"});
  CHECK(result.status == ChildStatus::exited(1));
  CHECK(result.err == "mmapdemo: watch /dev/mmapdemo: 0 of 1 ring within 300 ms\n");

  // Without --count, a timeout is simply the end of the watch.
  result = mmapdemo({"watch", "--timeout", "300"});
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.out.find("now: ") != std::string::npos);
}

// ---- the seed scenarios ------------------------------------------------------------

// Runs a scenario; it must exit 0, claim so, and say each of the phrases.
void check_seed(const std::vector<std::string>& args, const std::vector<std::string>& phrases) {
  require_cli();
  require_device();
  auto full = args;
  full.insert(full.begin(), "seed");
  const auto result = mmapdemo(full);
  INFO("stdout:\n" << result.out << "stderr:\n" << result.err);
  CHECK(result.status == ChildStatus::exited(0));
  CHECK(result.err == "");
  CHECK(result.out.find("NOT AS DOCUMENTED") == std::string::npos);
  CHECK(result.out.find(args.front() + ": behaved as documented") != std::string::npos);
  for (const auto& phrase : phrases) {
    CAPTURE(phrase);
    CHECK(result.out.find(phrase) != std::string::npos);
  }
}

TEST_CASE("cli: seed shared-write behaves as documented", "[cli]") {
  check_seed({"shared-write"}, {"stored '9' at offset 20", "msync(MS_SYNC)", "| 9herries."});
}

TEST_CASE("cli: seed private-write behaves as documented", "[cli]") {
  check_seed({"private-write"}, {"MAP_PRIVATE: Invalid argument", "| cherries."});
}

TEST_CASE("cli: seed two-process behaves as documented", "[cli]") {
  check_seed({"two-process"}, {"A (pid ", "B (pid ", "acknowledged ring", "rang the doorbell"});
}

TEST_CASE("cli: seed parent-child behaves as documented", "[cli]") {
  check_seed({"parent-child"}, {"parent (pid ", "child (pid ", "thanks, parent"});
}

TEST_CASE("cli: seed bounds behaves as documented", "[cli]") {
  check_seed({"bounds"}, {"killed by SIGBUS", "killed by SIGSEGV", "Invalid argument"});
}

TEST_CASE("cli: seed read-vs-mmap behaves as documented", "[cli]") {
  check_seed({"read-vs-mmap", "--repeat", "3"}, {"median", "read()+write()", "mmap()"});
}

}  // namespace
