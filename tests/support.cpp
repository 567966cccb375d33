// SPDX-License-Identifier: GPL-2.0
#include "support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <catch2/catch_test_macros.hpp>
#include <mmapdemo/base/io.hpp>

namespace mmapdemo::test {

std::error_code last_error() { return {errno, std::generic_category()}; }

namespace {

const std::string& device_path() {
  static const std::string path{default_path};
  return path;
}

bool device_exists() {
  struct stat st {};
  return ::stat(device_path().c_str(), &st) == 0;
}

}  // namespace

// ---- the device ---------------------------------------------------------------

void require_device() {
  if (!device_exists()) {
    SKIP("no " << device_path() << ": this test needs the module loaded (it runs in the guests)");
  }
}

void require_root() {
  if (::geteuid() != 0) SKIP("this test needs root");
}

Device open_device(Strategy strategy, int flags) {
  require_device();
  return open_with(strategy, flags);
}

Device open_with(Strategy strategy, int flags) {
  auto device = Device::open(device_path(), flags);
  device.set_strategy(strategy);
  return device;
}

std::size_t page_size() {
  static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

Strategy other(Strategy strategy) {
  return strategy == Strategy::remap ? Strategy::fault : Strategy::remap;
}

std::vector<Strategy> page_based_strategies() {
  std::vector<Strategy> strategies;
  std::ranges::copy_if(all_strategies, std::back_inserter(strategies), maps_pages);
  return strategies;
}

// ---- contents -----------------------------------------------------------------

std::byte pattern_byte(std::uint64_t position, std::uint32_t seed) {
  const std::uint64_t word = (position & ~std::uint64_t{7}) ^ (seed * 0x9E3779B97F4A7C15ULL);
  return static_cast<std::byte>(word >> (8 * (position & 7)));
}

void fill_pattern(std::span<std::byte> out, std::uint64_t position, std::uint32_t seed) {
  for (auto& byte : out) byte = pattern_byte(position++, seed);
}

std::vector<std::byte> pattern(std::size_t length, std::uint64_t position, std::uint32_t seed) {
  std::vector<std::byte> bytes(length);
  fill_pattern(bytes, position, seed);
  return bytes;
}

bool has_pattern(std::span<const std::byte> bytes, std::uint64_t position, std::uint32_t seed) {
  for (const auto byte : bytes) {
    if (byte != pattern_byte(position++, seed)) return false;
  }
  return true;
}

namespace {

std::string hex(std::byte byte) {
  constexpr std::string_view digits = "0123456789abcdef";
  const auto value = std::to_integer<unsigned>(byte);
  return {'0', 'x', digits[value >> 4], digits[value & 15]};
}

template <class Expected>
std::string diff(std::span<const std::byte> bytes, Expected expected) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != expected(i)) {
      return "byte " + std::to_string(i) + " of " + std::to_string(bytes.size()) + " is " +
             hex(bytes[i]) + ", expected " + hex(expected(i));
    }
  }
  return {};
}

}  // namespace

std::string diff_bytes(std::span<const std::byte> bytes, std::span<const std::byte> expected) {
  if (bytes.size() != expected.size()) {
    return std::to_string(bytes.size()) + " bytes, expected " + std::to_string(expected.size());
  }
  if (std::equal(bytes.begin(), bytes.end(), expected.begin())) return {};  // memcmp: fast
  return diff(bytes, [&](std::size_t i) { return expected[i]; });
}

std::string diff_pattern(std::span<const std::byte> bytes, std::uint64_t position,
                         std::uint32_t seed) {
  return diff(bytes, [&](std::size_t i) { return pattern_byte(position + i, seed); });
}

std::string diff_fill(std::span<const std::byte> bytes, std::byte value) {
  return diff(bytes, [&](std::size_t) { return value; });
}

std::string HasPattern::difference(std::span<const std::byte> bytes) const {
  return diff_pattern(bytes, position_, seed_);
}

std::string HasPattern::expected() const {
  return "holds the pattern of seed " + std::to_string(seed_) + " from position " +
         std::to_string(position_);
}

std::string HasBytes::difference(std::span<const std::byte> bytes) const {
  return diff_bytes(bytes, expected_);
}

std::string HasBytes::expected() const {
  return "equals the " + std::to_string(expected_.size()) + " bytes expected";
}

std::string IsFilledWith::difference(std::span<const std::byte> bytes) const {
  return diff_fill(bytes, value_);
}

std::string IsFilledWith::expected() const { return "is filled with " + hex(value_); }

void DeviceTest::open(Strategy chosen, int flags) {
  strategy = chosen;
  shown_.emplace(Catch::MessageBuilder("CAPTURE", CATCH_INTERNAL_LINEINFO, Catch::ResultWas::Info)
                 << "strategy := " << to_string(chosen));
  device = open_device(chosen, flags);
}

Mapping DeviceTest::map_pattern(std::size_t length) const {
  write_all(device, pattern(length, 0, seed), 0);
  return Mapping::map(device, length);
}

std::uint32_t new_seed() {
  static std::mt19937 generator{std::random_device{}()};
  return static_cast<std::uint32_t>(generator()) | 1U;  // never 0: that would be close to zeroes
}

void write_all(const Device& device, std::span<const std::byte> bytes, std::uint64_t offset) {
  device.write_all(bytes, offset);
}

std::vector<std::byte> read_all(const Device& device, std::size_t length, std::uint64_t offset) {
  std::vector<std::byte> bytes(length);
  device.read_all(bytes, offset);
  return bytes;
}

std::error_code sys_error(long result) { return result == -1 ? last_error() : std::error_code{}; }

std::error_code mmap_error(std::size_t length, int prot, int flags, int fd, std::uint64_t offset) {
  void* const address = ::mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
  if (address == MAP_FAILED) return last_error();
  ::munmap(address, length);
  return {};
}

std::byte touch(const std::byte* address) {
  return *static_cast<const volatile std::byte*>(address);
}

void poke(std::byte* address, std::byte value) {
  *static_cast<volatile std::byte*>(address) = value;
}

// ---- raw address ranges -------------------------------------------------------

Region Region::reserve(std::size_t length) { return Region{base::Region::reserve(length)}; }

Region Region::map(const Device& device, std::size_t length, std::uint64_t offset) {
  return Region{base::Region::map(length, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd(), offset,
                                  device.path())};
}

// ---- processes ----------------------------------------------------------------

std::string describe(const ChildStatus& status) {
  using Kind = base::ChildEnd::Kind;
  const Kind kind = status.kind == ChildStatus::Kind::exited   ? Kind::exited
                    : status.kind == ChildStatus::Kind::killed ? Kind::killed
                                                               : Kind::timed_out;
  return base::describe({kind, status.value, status.message});
}

namespace {

ChildStatus to_status(base::ChildEnd end) {
  using Kind = base::ChildEnd::Kind;
  const auto kind = end.kind == Kind::exited   ? ChildStatus::Kind::exited
                    : end.kind == Kind::killed ? ChildStatus::Kind::killed
                                               : ChildStatus::Kind::timed_out;
  return {kind, end.value, std::move(end.message)};
}

ChildStatus decode(int status) { return to_status(base::ended(status)); }

using base::reap;

}  // namespace

ChildStatus Child::wait(std::chrono::milliseconds timeout) {
  return to_status(child_.wait(timeout));
}

ChildStatus run_in_child(const std::function<int()>& body, std::chrono::milliseconds timeout) {
  Child child{body};
  return child.wait(timeout);
}

int terminating_signal(const std::function<void()>& body) {
  const auto status = run_in_child([&] {
    body();
    return 0;
  });
  return status.kind == ChildStatus::Kind::killed ? status.value : 0;
}

void Notice::post() const {
  const char byte = 1;
  ssize_t n;
  do {
    n = ::write(pipe_.write.get(), &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) throw std::system_error(last_error(), "notice write");
}

bool Notice::wait(std::chrono::milliseconds timeout) const {
  pollfd pfd{pipe_.read.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) throw std::system_error(last_error(), "notice poll");
  if (ready == 0) return false;
  char byte;
  return ::read(pipe_.read.get(), &byte, 1) == 1;
}

namespace {

// The first field of /proc/<pid>/syscall: the number of the system call the
// process sleeps in, or nullopt while it runs (or when it cannot be read).
std::optional<long> current_syscall(pid_t pid) {
  std::ifstream file{"/proc/" + std::to_string(pid) + "/syscall"};
  std::string first;
  if (!(file >> first)) return std::nullopt;
  long number = 0;
  const auto [end, ec] = std::from_chars(first.data(), first.data() + first.size(), number);
  if (ec != std::errc{} || end != first.data() + first.size()) return std::nullopt;
  return number;
}

// The state letter of /proc/<pid>/stat: 'S' for an interruptible sleep.
char state(pid_t pid) {
  std::ifstream file{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(file, line);
  const auto paren = line.rfind(')');  // the command name may hold spaces
  return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '?';
}

}  // namespace

bool wait_until_asleep_in(pid_t pid, std::initializer_list<long> syscalls,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto number = current_syscall(pid);
    if (number && std::find(syscalls.begin(), syscalls.end(), *number) != syscalls.end() &&
        state(pid) == 'S') {
      return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

namespace {

void read_into(int& fd, std::string& out) {
  char buffer[4096];
  const auto n = ::read(fd, buffer, sizeof buffer);
  if (n > 0) {
    out.append(buffer, static_cast<std::size_t>(n));
  } else if (n == 0 || errno != EINTR) {
    ::close(std::exchange(fd, -1));  // end of file (or an error: no more to read either way)
  }
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, std::string input)
    : input_{std::move(input)} {
  if (argv.empty()) throw std::invalid_argument("Subprocess: no program");
  // The process may exit before it has read everything: EPIPE, not SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  int in[2];
  int out[2];
  int err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::system_error(last_error(), "pipe2");
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::system_error(last_error(), "pipe2");
  if (::pipe2(err, O_CLOEXEC) != 0) throw std::system_error(last_error(), "pipe2");
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(last_error(), "fork");
  if (pid_ == 0) {
    // dup2() clears O_CLOEXEC on the copies; every other descriptor closes at exec.
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    std::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  ::fcntl(in_, F_SETFL, O_NONBLOCK);  // a full pipe must not stop the reading
  if (input_.empty()) ::close(std::exchange(in_, -1));
}

Subprocess::~Subprocess() {
  for (const int fd : {in_, out_, err_}) {
    if (fd >= 0) ::close(fd);
  }
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  try {
    static_cast<void>(reap(pid_, 2s, status));
  } catch (...) {
  }
}

bool Subprocess::pump(std::chrono::steady_clock::time_point deadline,
                      const std::function<bool()>& done) {
  while (!done()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    std::vector<pollfd> fds;
    if (in_ >= 0) fds.push_back({in_, POLLOUT, 0});
    if (out_ >= 0) fds.push_back({out_, POLLIN, 0});
    if (err_ >= 0) fds.push_back({err_, POLLIN, 0});
    if (fds.empty()) return true;  // nothing more will come
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw std::system_error(last_error(), "poll");
    for (const auto& pfd : fds) {
      if (pfd.revents == 0) continue;
      if (pfd.fd == in_) {
        const auto n = ::write(in_, input_.data() + written_, input_.size() - written_);
        if (n > 0) written_ += static_cast<std::size_t>(n);
        if ((n < 0 && errno != EINTR && errno != EAGAIN) || written_ == input_.size()) {
          ::close(std::exchange(in_, -1));
        }
      } else if (pfd.fd == out_) {
        read_into(out_, stdout_);
      } else {
        read_into(err_, stderr_);
      }
    }
  }
  return true;
}

bool Subprocess::wait_for_output(std::string_view text, std::chrono::milliseconds timeout) {
  pump(std::chrono::steady_clock::now() + timeout,
       [&] { return stdout_.find(text) != std::string::npos || out_ < 0; });
  return stdout_.find(text) != std::string::npos;
}

Output Subprocess::finish(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("Subprocess::finish: no process");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bool drained = pump(deadline, [&] { return out_ < 0 && err_ < 0; });
  int status = 0;
  ChildStatus result{ChildStatus::Kind::timed_out, 0};
  const auto left = std::max(0ms, std::chrono::ceil<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now()));
  if (drained && reap(pid_, left, status)) {
    result = decode(status);
    pid_ = -1;
  }
  return {result, std::move(stdout_), std::move(stderr_)};  // the destructor kills a straggler
}

Output run_program(const std::vector<std::string>& argv, std::string input,
                   std::chrono::milliseconds timeout) {
  Subprocess process{argv, std::move(input)};
  return process.finish(timeout);
}

// ---- /proc/self/smaps ---------------------------------------------------------

std::set<std::string, std::less<>> vm_flags(const void* address) {
  const auto target = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps{"/proc/self/smaps"};
  if (!smaps) throw std::runtime_error("cannot read /proc/self/smaps");

  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    // A mapping starts with "start-end perms ...", both addresses in hex.
    std::uintptr_t start = 0;
    std::uintptr_t end = 0;
    const char* const first = line.data();
    const char* const last = first + line.size();
    const auto [dash, ec] = std::from_chars(first, last, start, 16);
    if (ec == std::errc{} && dash != last && *dash == '-' &&
        std::from_chars(dash + 1, last, end, 16).ec == std::errc{}) {
      inside = start <= target && target < end;
      continue;
    }
    if (inside && line.starts_with("VmFlags:")) {
      std::istringstream words{line.substr(8)};
      std::set<std::string, std::less<>> flags;
      for (std::string flag; words >> flag;) flags.insert(flag);
      return flags;
    }
  }
  std::ostringstream what;
  what << "no VmFlags in /proc/self/smaps for " << address;
  throw std::runtime_error(what.str());
}

std::uint64_t minor_faults() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) throw std::system_error(last_error(), "getrusage");
  return static_cast<std::uint64_t>(usage.ru_minflt);
}

bool kernel_at_least(int major, int minor) {
  utsname name{};
  if (::uname(&name) != 0) throw std::system_error(last_error(), "uname");
  int running_major = 0;
  int running_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &running_major, &running_minor) != 2) {
    throw std::runtime_error(std::string{"cannot read the kernel version in "} + name.release);
  }
  return running_major > major || (running_major == major && running_minor >= minor);
}

// ---- the module ---------------------------------------------------------------

Module Module::require() {
  require_root();
  require_device();
  const char* const ko = std::getenv("MMAPDEMO_KO");
  const char* const params = std::getenv("MMAPDEMO_PARAMS");
  if (ko == nullptr || params == nullptr) {
    SKIP("set MMAPDEMO_KO and MMAPDEMO_PARAMS so the test can reload the module");
  }
  return Module{ko, params};
}

Module::~Module() {
  if (loaded_ && !other_params_) return;
  try {
    if (loaded_) unload();
    load();
  } catch (const std::exception& e) {
    std::cerr << "mmapdemo tests: cannot reload the module: " << e.what() << '\n';
  }
}

std::error_code Module::try_unload() noexcept {
  if (::syscall(SYS_delete_module, "mmapdemo", O_NONBLOCK) != 0) return last_error();
  loaded_ = false;
  return {};
}

void Module::unload() {
  if (const auto ec = try_unload()) throw std::system_error(ec, "delete_module mmapdemo");
}

std::error_code Module::try_load(const std::string& params) noexcept {
  const int fd = ::open(ko_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return last_error();
  const auto ec = sys_error(::syscall(SYS_finit_module, fd, params.c_str(), 0));
  ::close(fd);
  if (!ec) {
    loaded_ = true;
    other_params_ = params != params_;
  }
  return ec;
}

void Module::load() { load_with(params_); }

void Module::load_with(const std::string& params) {
  if (const auto ec = try_load(params)) {
    throw std::system_error(ec, "finit_module " + ko_ + " (" + params + ")");
  }

  // devtmpfs creates the node before finit_module() returns; poll anyway.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!device_exists()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("no " + device_path() + " 2 s after loading " + ko_);
    }
    std::this_thread::sleep_for(10ms);
  }
}

void Module::reload() {
  unload();
  load();
}

KernelLog::KernelLog() : fd_{::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)} {
  if (fd_ < 0) throw std::system_error(last_error(), "open /dev/kmsg");
  ::lseek(fd_, 0, SEEK_END);
}

KernelLog::~KernelLog() { ::close(fd_); }

// Each read() of /dev/kmsg returns one record: "prio,seq,time,flags;text\n".
std::vector<std::string> KernelLog::new_messages() {
  std::vector<std::string> messages;
  std::array<char, 8192> record{};
  for (;;) {
    const auto n = ::read(fd_, record.data(), record.size());
    if (n < 0 && errno == EPIPE) continue;  // overwritten records: skip ahead
    if (n <= 0) break;
    std::string text{record.data(), static_cast<std::size_t>(n)};
    text = text.substr(text.find(';') + 1);
    messages.push_back(text.substr(0, text.find('\n')));
  }
  return messages;
}

std::optional<std::string> module_params() {
  const char* const params = std::getenv("MMAPDEMO_PARAMS");
  if (params == nullptr) return std::nullopt;
  return params;
}

// ---- resizing and looking at the driver's state ------------------------------

RestoreSize::RestoreSize() : device_{Device::open(std::string{default_path})} {
  size_ = device_.info().size;
}

RestoreSize::~RestoreSize() {
  std::error_code ec;
  device_.resize(size_, ec);
}

std::string read_text(const std::string& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(last_error(), "open " + file);
  const Fd owner{fd};
  const auto bytes = base::read_to_end(fd, "read " + file);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::uint64_t read_number(const std::string& file) {
  const auto text = read_text(file);
  std::uint64_t value = 0;
  const auto* const end = text.data() + text.size();
  const auto [next, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || (next != end && *next != '\n')) {
    throw std::runtime_error(file + " does not hold a number: '" + text + "'");
  }
  return value;
}

void write_file(const std::string& file, std::string_view text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) throw std::system_error(last_error(), "open " + file);
  const Fd owner{fd};
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw std::system_error(last_error(), "write " + file);
  }
}

std::string sysfs_path(std::string_view name) {
  return "/sys/class/misc/mmapdemo/" + std::string{name};
}

std::string debugfs_path(std::string_view name) {
  return "/sys/kernel/debug/mmapdemo/" + std::string{name};
}

}  // namespace mmapdemo::test

std::string Catch::StringMaker<std::error_code>::convert(const std::error_code& ec) {
  if (!ec) return "success";
  // fmt::format, not operator+: GCC 12's -Wrestrict misfires on a chain of
  // string concatenations at -O2 and -O3.
  if (ec.category() != std::generic_category()) {
    return fmt::format("{}:{}", ec.category().name(), ec.message());
  }
  const char* const name = ::strerrorname_np(ec.value());
  return name != nullptr ? fmt::format("{} ({})", name, ec.message())
                         : fmt::format("errno {} ({})", ec.value(), ec.message());
}

std::string Catch::StringMaker<std::errc>::convert(std::errc errc) {
  return StringMaker<std::error_code>::convert(std::make_error_code(errc));
}
