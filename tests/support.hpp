// SPDX-License-Identifier: GPL-2.0
// Fixtures of the guest suite, after the kernel's selftests/mm/hmm-tests.c:
// open the device (or SKIP without one), fork helpers, notices between
// processes, programs run with captured output, /proc/self/smaps, module
// unload/reload.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <catch2/catch_message.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/catch_tostring.hpp>
#include <catch2/matchers/catch_matchers_templated.hpp>
#include <mmapdemo/base/child.hpp>
#include <mmapdemo/base/fd.hpp>
#include <mmapdemo/base/region.hpp>
#include <mmapdemo/mmapdemo.hpp>

namespace mmapdemo::test {

using namespace std::chrono_literals;

// ---- the device -------------------------------------------------------------

// SKIPs the running test case when there is no /dev/mmapdemo (on the host).
// Call it before GENERATE so that a skip ends the whole test case.
void require_device();

// SKIPs unless the suite runs as root (it does in the guests).
void require_root();

// require_device(), then open_with().
[[nodiscard]] Device open_device(Strategy strategy, int flags = O_RDWR);
// Open /dev/mmapdemo with the given flags and choose the strategy; throws.
// Without Catch2, so child processes may use it.
[[nodiscard]] Device open_with(Strategy strategy, int flags = O_RDWR);

[[nodiscard]] std::size_t page_size();
[[nodiscard]] Strategy other(Strategy strategy);
// The strategies that map the buffer's pages (maps_pages()): only these map
// privately; the PFN-based ones refuse (cow.cpp). For GENERATE(from_range()).
[[nodiscard]] std::vector<Strategy> page_based_strategies();

// A fresh seed per call, so a test never passes on what an earlier one left.
[[nodiscard]] std::uint32_t new_seed();

// The preamble most device tests share, as a fixture for TEST_CASE_METHOD:
// open() SKIPs without the device, reports the strategy with every
// assertion as CAPTURE would, and opens a file with it; page and a fresh
// seed are there from the start.
//   TEST_CASE_METHOD(DeviceTest, "lifetime: ...", "[lifetime]") {
//     open(GENERATE(from_range(all_strategies)));
//     auto mapping = Mapping::map(device, 4 * page);
class DeviceTest {
 protected:
  void open(Strategy chosen, int flags = O_RDWR);
  // A pattern of the test's seed in the first length bytes of the buffer,
  // and a shared read-write mapping of them.
  [[nodiscard]] Mapping map_pattern(std::size_t length) const;

  Strategy strategy = Strategy::remap;
  std::size_t page = page_size();
  std::uint32_t seed = new_seed();
  Device device;

 private:
  std::optional<Catch::ScopedMessage> shown_;
};

// ---- contents ---------------------------------------------------------------

// Bytes that tell their position in the buffer and the test that wrote them:
// every aligned 8-byte word holds its buffer offset xor a per-test seed.
[[nodiscard]] std::byte pattern_byte(std::uint64_t position, std::uint32_t seed);
void fill_pattern(std::span<std::byte> out, std::uint64_t position, std::uint32_t seed);
[[nodiscard]] std::vector<std::byte> pattern(std::size_t length, std::uint64_t position,
                                             std::uint32_t seed);
[[nodiscard]] bool has_pattern(std::span<const std::byte> bytes, std::uint64_t position,
                               std::uint32_t seed);

// Empty when bytes are as expected, else where they first differ, e.g.
// "byte 4096 of 8192 is 0xaa, expected 0x00": for code that gathers
// problems (a child, a sweep); assertions use the matchers below.
[[nodiscard]] std::string diff_bytes(std::span<const std::byte> bytes,
                                     std::span<const std::byte> expected);
[[nodiscard]] std::string diff_pattern(std::span<const std::byte> bytes, std::uint64_t position,
                                       std::uint32_t seed);
[[nodiscard]] std::string diff_fill(std::span<const std::byte> bytes, std::byte value);

// Catch2 matchers over bytes (a span, a vector, a mapping's bytes()), each
// saying where the bytes first differ when they fail:
//   CHECK_THAT(mapping.bytes(), HasPattern(offset, seed));
//   CHECK_THAT(read_all(device, 12, 0), HasBytes(as_bytes("hello, world")));
//   CHECK_THAT(region.bytes(), IsFilledWith(std::byte{0}));
class BytesMatcher : public Catch::Matchers::MatcherGenericBase {
 public:
  template <class Bytes>
  bool match(const Bytes& bytes) const {
    problem_ = difference(std::span<const std::byte>{bytes});
    return problem_.empty();
  }
  std::string describe() const override { return expected() + " (" + problem_ + ")"; }

 protected:
  [[nodiscard]] virtual std::string difference(std::span<const std::byte> bytes) const = 0;
  [[nodiscard]] virtual std::string expected() const = 0;

 private:
  mutable std::string problem_;
};

class HasPattern : public BytesMatcher {
 public:
  HasPattern(std::uint64_t position, std::uint32_t seed) : position_{position}, seed_{seed} {}

 private:
  std::string difference(std::span<const std::byte> bytes) const override;
  std::string expected() const override;
  std::uint64_t position_;
  std::uint32_t seed_;
};

class HasBytes : public BytesMatcher {
 public:
  explicit HasBytes(std::span<const std::byte> expected)
      : expected_{expected.begin(), expected.end()} {}

 private:
  std::string difference(std::span<const std::byte> bytes) const override;
  std::string expected() const override;
  std::vector<std::byte> expected_;
};

class IsFilledWith : public BytesMatcher {
 public:
  explicit IsFilledWith(std::byte value) : value_{value} {}

 private:
  std::string difference(std::span<const std::byte> bytes) const override;
  std::string expected() const override;
  std::byte value_;
};

// pwrite()/pread() until done; throw on an error or an unexpected end of file.
void write_all(const Device& device, std::span<const std::byte> bytes, std::uint64_t offset);
[[nodiscard]] std::vector<std::byte> read_all(const Device& device, std::size_t length,
                                              std::uint64_t offset);

inline const std::error_code no_error{};

// The std::system_error that f throws; FAILs the test case if it throws none.
template <class F>
std::system_error thrown_by(F f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e;
  }
  FAIL("no std::system_error thrown");
  throw std::logic_error("unreachable");
}

// errno as a std::error_code (generic category: compares with std::errc).
[[nodiscard]] std::error_code last_error();

// The errno of a failed system call (result -1) as a std::error_code, or an
// empty one when it succeeded. Takes the result so errno is read at once.
[[nodiscard]] std::error_code sys_error(long result);

// mmap(2) that is expected to fail: its errno, or an empty code (and the
// mapping undone) if it succeeded.
[[nodiscard]] std::error_code mmap_error(std::size_t length, int prot, int flags, int fd,
                                         std::uint64_t offset = 0);

// Volatile accesses the compiler cannot drop (to provoke faults).
std::byte touch(const std::byte* address);
void poke(std::byte* address, std::byte value);

// ---- resizing and looking at the driver's state ------------------------------

// Puts the buffer back to the size it had at construction when the test ends,
// however it ends: later tests expect the size the module was loaded with.
class RestoreSize {
 public:
  RestoreSize();
  RestoreSize(const RestoreSize&) = delete;
  RestoreSize& operator=(const RestoreSize&) = delete;
  ~RestoreSize();
  [[nodiscard]] std::uint64_t original() const noexcept { return size_; }

 private:
  Device device_;
  std::uint64_t size_ = 0;
};

// The whole content of a (sysfs, debugfs, tracefs) file; throws naming the
// file when it cannot be read.
[[nodiscard]] std::string read_text(const std::string& file);
// A file that holds one decimal number.
[[nodiscard]] std::uint64_t read_number(const std::string& file);
// Writes text to a file (sysfs, tracefs); throws naming the file.
void write_file(const std::string& file, std::string_view text);

// /sys/class/misc/mmapdemo/<name>, /sys/kernel/debug/mmapdemo/<name>.
[[nodiscard]] std::string sysfs_path(std::string_view name);
[[nodiscard]] std::string debugfs_path(std::string_view name);

// Page faults this process has taken that needed no I/O (ru_minflt): what
// the kernel counts per fault, however many pages the fault mapped.
[[nodiscard]] std::uint64_t minor_faults();

// The running kernel is major.minor or newer (from uname()).
[[nodiscard]] bool kernel_at_least(int major, int minor);

// ---- raw address ranges -----------------------------------------------------

// Owner of an address range the library does not model: anonymous
// reservations, mappings moved or resized with mremap().
class Region : public base::Region {
 public:
  using base::Region::Region;
  Region() noexcept = default;
  explicit Region(base::Region&& region) noexcept : base::Region{std::move(region)} {}

  // An anonymous PROT_NONE range: every access faults, nothing else lands there.
  [[nodiscard]] static Region reserve(std::size_t length);
  // A plain MAP_SHARED read-write mmap() of the device; throws.
  [[nodiscard]] static Region map(const Device& device, std::size_t length, std::uint64_t offset);
};

// ---- processes --------------------------------------------------------------

// How a child ended: its exit status, the signal that killed it, or that it
// outlived its deadline (and was then killed).
struct ChildStatus {
  enum class Kind { exited, killed, timed_out };

  Kind kind = Kind::exited;
  int value = 0;  // exit status or signal number
  // What the child said went wrong (base::Child::say(), or the message of
  // the exception it threw); not compared, only shown.
  std::string message = {};

  [[nodiscard]] static ChildStatus exited(int status) { return {Kind::exited, status}; }
  [[nodiscard]] static ChildStatus killed(int signal) { return {Kind::killed, signal}; }
  friend bool operator==(const ChildStatus& a, const ChildStatus& b) {
    return a.kind == b.kind && a.value == b.value;
  }
};

[[nodiscard]] std::string describe(const ChildStatus& status);

inline constexpr std::chrono::milliseconds child_timeout = 60s;

// A forked child that runs body and _exit()s with what it returns (125 if it
// throws, its message in the status). Child bodies must not use Catch2: they
// return a step number that says what failed (0 = all well) and the parent
// checks it. The child gets default handlers for the fatal signals Catch2
// traps, and no core dumps (base::Child).
class Child {
 public:
  explicit Child(const std::function<int()>& body) : child_{body} {}

  ChildStatus wait(std::chrono::milliseconds timeout = child_timeout);
  [[nodiscard]] pid_t pid() const noexcept { return child_.pid(); }

 private:
  base::Child child_;
};

[[nodiscard]] ChildStatus run_in_child(const std::function<int()>& body,
                                       std::chrono::milliseconds timeout = child_timeout);

// The signal that killed a child running body (SIGSEGV, SIGBUS, ...), 0 if
// it returned.
[[nodiscard]] int terminating_signal(const std::function<void()>& body);

// One-way notification between processes over a pipe: post() in one,
// wait() in the other; each post() satisfies one wait(). Create it before
// fork(); both ends stay open in both. (Not the device's doorbell: this one
// keeps test steps in order whatever the device does.)
class Notice {
 public:
  Notice() : pipe_{base::make_pipe()} {}

  void post() const;
  // False when nothing was posted within timeout.
  [[nodiscard]] bool wait(std::chrono::milliseconds timeout = 10s) const;

 private:
  base::Pipe pipe_;
};

// Owner of a file descriptor the library does not model (epoll, pipes).
using Fd = base::UniqueFd;

// Waits until process pid sleeps in one of the given system calls (numbers
// as in /proc/<pid>/syscall, e.g. SYS_poll); false if it did not within
// timeout.
[[nodiscard]] bool wait_until_asleep_in(pid_t pid, std::initializer_list<long> syscalls,
                                        std::chrono::milliseconds timeout = 10s);

// A program run with its standard input fed from a string and its standard
// output and error captured, e.g. the mmapdemo command.
struct Output {
  ChildStatus status;
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  // argv[0] is the program's path; input is written to its standard input,
  // which is then closed.
  explicit Subprocess(const std::vector<std::string>& argv, std::string input = {});
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // kills and reaps a process nobody finished

  // Collects output until standard output contains text; false when the
  // process closed it first or timeout passed.
  [[nodiscard]] bool wait_for_output(std::string_view text,
                                     std::chrono::milliseconds timeout = 30s);
  // Collects everything until the process exits (killed at timeout).
  [[nodiscard]] Output finish(std::chrono::milliseconds timeout = child_timeout);
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  // Moves input and output until done() or the deadline; false at the deadline.
  bool pump(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done);

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string input_;
  std::size_t written_ = 0;
  std::string stdout_;
  std::string stderr_;
};

// Runs a program to the end.
[[nodiscard]] Output run_program(const std::vector<std::string>& argv, std::string input = {},
                                 std::chrono::milliseconds timeout = child_timeout);

// ---- /proc/self/smaps ----------------------------------------------------------

// The two-letter VmFlags of the mapping that contains address ("rd", "sh",
// "pf", "de", ...). Throws when no mapping contains it.
[[nodiscard]] std::set<std::string, std::less<>> vm_flags(const void* address);

// ---- the module ----------------------------------------------------------------

// Unloads mmapdemo on request and always leaves it loaded again: the
// destructor reloads it from MMAPDEMO_KO with MMAPDEMO_PARAMS if a test
// stopped half way or loaded it with other parameters, so later tests find
// /dev/mmapdemo as the suite set it up.
class Module {
 public:
  // SKIPs unless running as root with the device present and MMAPDEMO_KO and
  // MMAPDEMO_PARAMS set (the guest runner sets both).
  [[nodiscard]] static Module require();

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();

  // delete_module(O_NONBLOCK): EAGAIN while anything holds the device.
  [[nodiscard]] std::error_code try_unload() noexcept;
  void unload();
  // finit_module() with other parameters, e.g. bad ones; no waiting.
  [[nodiscard]] std::error_code try_load(const std::string& params) noexcept;
  // finit_module() with the suite's parameters, then wait (up to 2 s) for the node.
  void load();
  // The same with other parameters; the destructor loads the suite's again.
  void load_with(const std::string& params);
  void reload();

 private:
  Module(std::string ko, std::string params) : ko_{std::move(ko)}, params_{std::move(params)} {}

  std::string ko_;
  std::string params_;
  bool loaded_ = true;
  bool other_params_ = false;  // loaded with parameters other than params_
};

// The kernel log from the moment of construction on (/dev/kmsg).
class KernelLog {
 public:
  KernelLog();
  KernelLog(const KernelLog&) = delete;
  KernelLog& operator=(const KernelLog&) = delete;
  ~KernelLog();

  // The messages logged since construction or the previous call.
  [[nodiscard]] std::vector<std::string> new_messages();

 private:
  int fd_;
};

// Module parameters the suite was started with (MMAPDEMO_PARAMS, e.g.
// "backend=vmalloc size=2M"); nullopt when the runner did not say.
[[nodiscard]] std::optional<std::string> module_params();

}  // namespace mmapdemo::test

template <>
struct Catch::StringMaker<mmapdemo::Strategy> {
  static std::string convert(mmapdemo::Strategy strategy) {
    return std::string{mmapdemo::to_string(strategy)};
  }
};

template <>
struct Catch::StringMaker<mmapdemo::Backend> {
  static std::string convert(mmapdemo::Backend backend) {
    return std::string{mmapdemo::to_string(backend)};
  }
};

// Bytes by their count only: a page spelt out byte by byte helps nobody, and
// the matchers above say where the bytes differ.
template <>
struct Catch::StringMaker<std::vector<std::byte>> {
  static std::string convert(const std::vector<std::byte>& bytes) {
    return std::to_string(bytes.size()) + " bytes";
  }
};

template <>
struct Catch::StringMaker<std::span<std::byte>> {
  static std::string convert(std::span<std::byte> bytes) {
    return std::to_string(bytes.size()) + " bytes";
  }
};

template <>
struct Catch::StringMaker<std::span<const std::byte>> {
  static std::string convert(std::span<const std::byte> bytes) {
    return std::to_string(bytes.size()) + " bytes";
  }
};

// "EINVAL (Invalid argument)" rather than "generic:22".
template <>
struct Catch::StringMaker<std::error_code> {
  static std::string convert(const std::error_code& ec);
};

template <>
struct Catch::StringMaker<std::errc> {
  static std::string convert(std::errc errc);
};

template <>
struct Catch::StringMaker<mmapdemo::test::ChildStatus> {
  static std::string convert(const mmapdemo::test::ChildStatus& status) {
    return mmapdemo::test::describe(status);
  }
};
