// SPDX-License-Identifier: GPL-2.0
// Allocation failures. The kernel's fault injection (failslab and
// fail_page_alloc, armed for this thread alone through
// /proc/thread-self/fail-nth) makes the 1st, 2nd, 3rd, ... allocation on the
// path of a system call fail, until the call gets through with none failed.
// Every injected failure must end the call with ENOMEM, leave nothing half
// set up, and the device must work normally afterwards; the runner's kmemleak
// step then proves nothing leaked. Needs CONFIG_FAULT_INJECTION_DEBUG_FS
// (the debug guest kernel); skips on kernels without it.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::filesystem::path debugfs{"/sys/kernel/debug"};

// What the sweep below needs of the two fault types: failures of sleeping
// allocations too (they are the ones drivers make), from order 0 up, without
// a stack dump per injected failure.
const std::vector<std::pair<std::string, std::string>> injection_settings{
    {"failslab/ignore-gfp-wait", "N"},        {"failslab/verbose", "0"},
    {"fail_page_alloc/ignore-gfp-wait", "N"}, {"fail_page_alloc/ignore-gfp-highmem", "N"},
    {"fail_page_alloc/min-order", "0"},       {"fail_page_alloc/verbose", "0"},
};

std::string read_line(const std::filesystem::path& file) {
  std::ifstream in{file};
  std::string line;
  std::getline(in, line);
  return line;
}

void write_text(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out{file};
  out << text;
  out.flush();
  if (!out) throw std::runtime_error("cannot write '" + text + "' to " + file.string());
}

// Arms fail-nth for this thread; restores the fault attributes on
// destruction. SKIPs where the kernel has no fault injection.
class FailNth {
 public:
  FailNth() : fd_{::open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC)} {
    if (fd_.get() < 0 || !std::filesystem::exists(debugfs / "failslab") ||
        !std::filesystem::exists(debugfs / "fail_page_alloc")) {
      SKIP(
          "no fault injection in this kernel (needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and "
          "CONFIG_FAULT_INJECTION_DEBUG_FS: the debug guest kernel)");
    }
    for (const auto& [name, value] : injection_settings) {
      saved_.emplace_back(name, read_line(debugfs / name));
      write_text(debugfs / name, value);
    }
    // The test runner lets warn_alloc() stack dumps through after this line:
    // a failed allocation reported as such is what the test asks for.
    write_text("/dev/kmsg", "<6>mmapdemo: injecting allocation failures\n");
  }
  FailNth(const FailNth&) = delete;
  FailNth& operator=(const FailNth&) = delete;
  ~FailNth() {
    for (const auto& [name, value] : saved_) {
      try {
        write_text(debugfs / name, value);
      } catch (const std::exception& e) {
        std::fputs(e.what(), stderr);
      }
    }
  }

  // Runs op with the nth allocation of this thread failing. Returns op's
  // result and whether the failure was injected (op reached n allocations).
  // Between arming and op nothing else may allocate: only system calls in op.
  std::pair<std::error_code, bool> run(unsigned n, const std::function<std::error_code()>& op) {
    arm(n);
    const auto ec = op();
    return {ec, disarm() == 0};
  }

  // Runs op with a failure armed far beyond its reach: op's result and how
  // many allocations it made.
  std::pair<std::error_code, unsigned> count(const std::function<std::error_code()>& op) {
    constexpr unsigned far = 10000000;
    arm(far);
    const auto ec = op();
    return {ec, far - disarm()};
  }

 private:
  void arm(unsigned n) {
    const auto text = std::to_string(n);
    if (::pwrite(fd_.get(), text.data(), text.size(), 0) < 0) {
      throw std::system_error(last_error(), "write /proc/thread-self/fail-nth");
    }
  }

  // Disarms; returns how many allocations were still to go (0: injected).
  unsigned disarm() {
    std::array<char, 16> text{};
    const auto got = ::pread(fd_.get(), text.data(), text.size() - 1, 0);
    if (got <= 0) throw std::system_error(last_error(), "read /proc/thread-self/fail-nth");
    if (::pwrite(fd_.get(), "0", 1, 0) < 0) {
      throw std::system_error(last_error(), "write 0 to /proc/thread-self/fail-nth");
    }
    unsigned left = 0;
    std::from_chars(text.data(), text.data() + got, left);
    return left;
  }

  Fd fd_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

struct Sweep {
  unsigned points = 0;             // allocations made to fail
  unsigned survived = 0;           // of those, failures the call got through
  std::vector<std::string> wrong;  // failures with the wrong errno, bad states left
  std::error_code final_result;    // the call with no failure injected
};

// Fails allocation first, first + 1, ... of op until op runs with none
// failed. after(ec) runs after every attempt: it undoes a success, prepares
// the next attempt and says what is wrong with the state left ("" if all is
// well).
Sweep sweep(FailNth& fail, unsigned first, const std::function<std::error_code()>& op,
            const std::function<std::string(std::error_code)>& after) {
  constexpr unsigned limit = 100000;  // far above any path here; ends a runaway loop
  Sweep result;
  for (unsigned n = first; n < first + limit; ++n) {
    const auto [ec, injected] = fail.run(n, op);
    const auto problem = after(ec);
    if (!injected) {
      result.final_result = ec;
      return result;
    }
    ++result.points;
    const auto where = "allocation " + std::to_string(n) + ": ";
    if (!ec) {
      ++result.survived;
    } else if (ec != std::errc::not_enough_memory) {
      result.wrong.push_back(where + ec.message());
    }
    if (!problem.empty()) result.wrong.push_back(where + problem);
  }
  result.wrong.emplace_back("no end after " + std::to_string(limit) + " allocations");
  return result;
}

// One line the runner shows for a passing test too.
void note(const std::string& what, const Sweep& s) {
  std::printf("note: %s: %u allocations failed in turn, %u of them survived\n", what.c_str(),
              s.points, s.survived);
}

std::error_code call(long result) { return sys_error(result); }

// After an insmod attempt: a failed one must leave no module and no node
// behind; a successful one is undone for the next round.
std::string after_insmod(std::error_code ec) {
  if (ec) {
    if (std::filesystem::exists("/sys/module/mmapdemo")) return "module loaded after a failure";
    if (std::filesystem::exists(default_path)) return "device node left after a failure";
    return {};
  }
  // Loaded although an allocation failed: take it out for the next round.
  if (::syscall(SYS_delete_module, "mmapdemo", O_NONBLOCK) != 0) {
    return "rmmod: " + last_error().message();
  }
  return {};
}

// Sweeps insmod over the allocations of mmapdemo's init only. The module
// loader's own allocations come first; 6.1's loader is not clean when those
// fail (jump_label_module_notify() WARNs), and they are not ours to test. A
// load that init refuses at once (size=0 fails its first check) makes exactly
// the loader's share, so the sweep starts right after it. A small buffer
// keeps the page allocations, one sweep step each, few.
TEST_CASE("nomem: insmod fails with ENOMEM at every allocation of init and leaves no module",
          "[nomem]") {
  auto module = Module::require();
  FailNth fail;
  const char* const ko = std::getenv("MMAPDEMO_KO");
  const std::string params = module_params().value_or("") + " size=16384";
  const Fd ko_fd{::open(ko, O_RDONLY | O_CLOEXEC)};
  REQUIRE(ko_fd.get() >= 0);
  module.unload();

  const auto load = [&](const std::string& p) {
    return [&ko_fd, p] { return call(::syscall(SYS_finit_module, ko_fd.get(), p.c_str(), 0)); };
  };
  const auto [refused, loader_share] = fail.count(load(params + " size=0"));
  REQUIRE(refused == std::errc::invalid_argument);

  const auto result = sweep(fail, loader_share + 1, load(params), after_insmod);
  note("insmod " + params + " (after the loader's " + std::to_string(loader_share) + ")", result);
  CHECK(result.wrong == std::vector<std::string>{});
  CHECK(result.final_result == no_error);
  CHECK(result.points > 0);

  module.load();
  const auto device = open_device(Strategy::fault);
  const auto seed = new_seed();
  auto mapping = Mapping::map(device, page_size());
  fill_pattern(mapping.bytes(), 0, seed);
  CHECK_THAT(read_all(device, page_size(), 0), HasPattern(0, seed));
}

TEST_CASE("nomem: open fails with ENOMEM at every allocation", "[nomem]") {
  require_device();
  FailNth fail;
  const std::string path{default_path};
  int fd = -1;
  const auto result = sweep(
      fail, 1,
      [&] {
        fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        return call(fd);
      },
      [&](std::error_code ec) {
        if (!ec) ::close(fd);
        return std::string{};
      });
  note("open", result);
  CHECK(result.wrong == std::vector<std::string>{});
  CHECK(result.final_result == no_error);
  CHECK(result.points > 0);

  const auto device = open_device(Strategy::remap);
  const auto seed = new_seed();
  write_all(device, pattern(page_size(), 0, seed), 0);
  CHECK_THAT(read_all(device, page_size(), 0), HasPattern(0, seed));
}

TEST_CASE("nomem: mmap fails with ENOMEM at every allocation", "[nomem]") {
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  FailNth fail;
  const auto device = open_device(strategy);
  // The whole buffer: with the vmalloc backend, remap maps it page by page.
  const auto length = device.info().size;
  void* address = MAP_FAILED;
  const auto result = sweep(
      fail, 1,
      [&] {
        address = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd(), 0);
        return address == MAP_FAILED ? last_error() : std::error_code{};
      },
      [&](std::error_code ec) {
        if (!ec) ::munmap(address, length);
        return std::string{};
      });
  note("mmap " + std::string{to_string(strategy)}, result);
  CHECK(result.wrong == std::vector<std::string>{});
  CHECK(result.final_result == no_error);
  CHECK(result.points > 0);

  const auto seed = new_seed();
  auto mapping = Mapping::map(device, length);
  fill_pattern(mapping.bytes(), 0, seed);
  CHECK_THAT(read_all(device, length, 0), HasPattern(0, seed));
}

// The fault path: MADV_POPULATE_WRITE faults every page in through the
// .fault handler, as stores do, and reports VM_FAULT_OOM as ENOMEM where a
// store would only be retried. The handler itself allocates nothing; the
// page tables under a new mapping are what can fail. Each attempt maps anew
// at an address far from every other mapping, so that munmap() frees those
// tables and the next attempt needs them again.
TEST_CASE("nomem: populating a fault mapping fails with ENOMEM at every allocation", "[nomem]") {
  require_device();
  FailNth fail;
  const auto device = open_device(Strategy::fault);
  const auto length = std::min<std::size_t>(device.info().size, 64 * page_size());
  const auto seed = new_seed();
  write_all(device, pattern(length, 0, seed), 0);

  // 32 TiB up: nothing of a small test program lives in that 512 GiB slot.
  // mmap() takes its hint as an address, so an integer it is.
  // NOLINTNEXTLINE(performance-no-int-to-ptr)
  auto* const far = reinterpret_cast<void*>(std::uintptr_t{1} << 45);
  void* address = MAP_FAILED;
  const auto map_anew = [&] {
    address = ::mmap(far, length, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd(), 0);
    return address != MAP_FAILED;
  };
  REQUIRE(map_anew());
  CHECK(address == far);

  const auto result = sweep(
      fail, 1, [&] { return call(::madvise(address, length, MADV_POPULATE_WRITE)); },
      [&](std::error_code) {
        const auto bytes = std::span{static_cast<const std::byte*>(address), length};
        auto problem = diff_pattern(bytes, 0, seed);
        ::munmap(address, length);
        if (!map_anew()) problem += " mmap: " + last_error().message();
        return problem;
      });
  note("MADV_POPULATE_WRITE", result);
  CHECK(result.wrong == std::vector<std::string>{});
  CHECK(result.final_result == no_error);
  CHECK(result.points > 0);
  if (address != MAP_FAILED) ::munmap(address, length);
}

// A resize allocates the new memory before it touches anything: a failure
// leaves the size and every byte as they were.
TEST_CASE("nomem: resize fails with ENOMEM at every allocation and changes nothing", "[nomem]") {
  require_device();
  FailNth fail;
  const RestoreSize restore;
  const auto device = open_device(Strategy::fault);
  // Four pages growing to five: few page allocations to sweep over.
  const auto size = 4 * page_size();
  device.resize(size);
  const auto seed = new_seed();
  write_all(device, pattern(size, 0, seed), 0);
  std::uint64_t new_size = size + page_size();

  const auto result = sweep(
      fail, 1, [&] { return call(::ioctl(device.fd(), MMAPDEMO_IOC_RESIZE, &new_size)); },
      [&](std::error_code ec) {
        std::string problem;
        if (!ec) {
          device.resize(size);
          return problem;
        }
        if (device.info().size != size) problem += "the size changed; ";
        problem += diff_pattern(read_all(device, size, 0), 0, seed);
        return problem;
      });
  note("resize", result);
  CHECK(result.wrong == std::vector<std::string>{});
  CHECK(result.final_result == no_error);
  CHECK(result.points > 0);
}

// Nothing behind these allocates today: a failure armed for the first
// allocation is never used. An ioctl that starts allocating must join the
// sweeps above.
TEST_CASE("nomem: the ioctls and read/write allocate nothing", "[nomem]") {
  require_device();
  FailNth fail;
  const auto device = open_device(Strategy::remap);
  std::array<std::byte, 64> bytes{};
  mmapdemo_info info{};
  std::uint64_t ring = 0;
  const std::uint32_t strategy = MMAPDEMO_STRATEGY_FAULT;
  const std::vector<std::pair<std::string, std::function<std::error_code()>>> calls{
      {"GET_INFO", [&] { return call(::ioctl(device.fd(), MMAPDEMO_IOC_GET_INFO, &info)); }},
      {"SET_STRATEGY",
       [&] { return call(::ioctl(device.fd(), MMAPDEMO_IOC_SET_STRATEGY, &strategy)); }},
      {"RING", [&] { return call(::ioctl(device.fd(), MMAPDEMO_IOC_RING)); }},
      {"ACK", [&] { return call(::ioctl(device.fd(), MMAPDEMO_IOC_ACK, &ring)); }},
      {"pread", [&] { return call(::pread(device.fd(), bytes.data(), bytes.size(), 0)); }},
      {"pwrite", [&] { return call(::pwrite(device.fd(), bytes.data(), bytes.size(), 0)); }},
  };
  for (const auto& [name, op] : calls) {
    CAPTURE(name);
    const auto [ec, injected] = fail.run(1, op);
    CHECK(ec == no_error);
    CHECK_FALSE(injected);
  }
}

}  // namespace
