// SPDX-License-Identifier: GPL-2.0
// Other kernel paths reaching a mapping of the device, per strategy. The
// page-based strategies (fault, faultaround, prefault) map struct pages, so
// get_user_pages() works on them: process_vm_readv() from another process,
// vmsplice() into a pipe, MADV_POPULATE_READ/WRITE. The PFN-based ones
// (remap, huge) refuse those, as every VM_PFNMAP mapping does, but their
// .access lets a debugger read and write them through /proc/<pid>/mem, the
// path of ptrace(PTRACE_PEEKDATA) too. Nothing writes through a read-only
// shared mapping, and nothing reads past the end of the buffer.
//
// A write through a mapping the target itself may not write (a private
// read-only one, where a debugger plants breakpoints) needs FOLL_FORCE,
// which kernels built with CONFIG_PROC_MEM_FORCE_PTRACE (Debian's 7.x)
// grant to the target's tracer only. The debugger here traces the target
// first, as a real one does, so the test holds whatever the kernel's
// setting.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

// Child exit codes: 0 = as expected, 1 = wrong bytes, 100 + errno = failed.
constexpr int failed_base = 100;

int failure(int err) { return failed_base + err; }

std::uint64_t address_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// pread()/pwrite() of /proc/<pid>/mem at a user address: the bytes done, or
// -errno.
long proc_mem(pid_t pid, bool write, std::uint64_t address, std::span<std::byte> bytes) {
  const auto file = "/proc/" + std::to_string(pid) + "/mem";
  const int fd = ::open(file.c_str(), (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return -errno;
  const auto offset = static_cast<off_t>(address);
  const auto done = write ? ::pwrite(fd, bytes.data(), bytes.size(), offset)
                          : ::pread(fd, bytes.data(), bytes.size(), offset);
  const int err = errno;
  ::close(fd);
  return done < 0 ? -err : static_cast<long>(done);
}

// Lets a child of this process trace it while alive: Yama's ptrace_scope 1
// otherwise allows tracing only from an ancestor (root passes anyway).
// Where Yama is not built in, prctl() fails and nothing needs doing.
class TraceableByChildren {
 public:
  TraceableByChildren() { ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0); }
  TraceableByChildren(const TraceableByChildren&) = delete;
  TraceableByChildren& operator=(const TraceableByChildren&) = delete;
  ~TraceableByChildren() { ::prctl(PR_SET_PTRACER, 0, 0, 0, 0); }
};

// What a debugger does to write a tracee's memory: attach (PTRACE_SEIZE,
// which does not stop the tracee, so the parent can go on waiting for this
// child), then write /proc/<pid>/mem. The child's exit detaches it.
long debugger_write(pid_t pid, std::uint64_t address, std::span<std::byte> bytes) {
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) < 0) return -errno;
  return proc_mem(pid, true, address, bytes);
}

TEST_CASE_METHOD(DeviceTest,
                 "access: process vm readv from another process reads page-based mappings only",
                 "[access]") {
  open(GENERATE(from_range(all_strategies)));
  const auto length = 4 * page;
  const auto mapping = map_pattern(length);

  const auto status = run_in_child([&] {
    std::vector<std::byte> got(length);
    const iovec local{got.data(), got.size()};
    const iovec remote{const_cast<std::byte*>(mapping.data()), length};
    const auto n = ::process_vm_readv(::getppid(), &local, 1, &remote, 1, 0);
    if (n < 0) return failure(errno);
    return static_cast<std::size_t>(n) == length && has_pattern(got, 0, seed) ? 0 : 1;
  });
  CHECK(status == ChildStatus::exited(maps_pages(strategy) ? 0 : failure(EFAULT)));
}

TEST_CASE_METHOD(
    DeviceTest,
    "access: a debugger reads and writes the mapping of every strategy through /proc/pid/mem",
    "[access]") {
  open(GENERATE(from_range(all_strategies)));
  const auto mapping = map_pattern(4 * page);
  const auto seed2 = new_seed();

  const auto status = run_in_child([&] {
    std::vector<std::byte> got(4 * page);
    if (const auto n = proc_mem(::getppid(), false, address_of(mapping.data()), got); n < 0) {
      return failure(static_cast<int>(-n));
    }
    if (!has_pattern(got, 0, seed)) return 1;
    auto page1 = pattern(page, page, seed2);
    const auto n = proc_mem(::getppid(), true, address_of(mapping.data() + page), page1);
    return n < 0 ? failure(static_cast<int>(-n)) : 0;
  });
  REQUIRE(status == ChildStatus::exited(0));
  CHECK_THAT(read_all(device, page, 0), HasPattern(0, seed));
  CHECK_THAT(read_all(device, page, page), HasPattern(page, seed2));
  CHECK_THAT(mapping.bytes().subspan(page, page), HasPattern(page, seed2));
}

TEST_CASE_METHOD(DeviceTest,
                 "access: /proc/pid/mem cannot write through a read-only shared mapping",
                 "[access]") {
  open(GENERATE(from_range(all_strategies)));
  write_all(device, pattern(page, 0, seed), 0);
  const auto mapping = Mapping::map(device, page, 0, Protection::read_only);

  auto other = pattern(page, 0, new_seed());
  CHECK(proc_mem(::getpid(), true, address_of(mapping.data()), other) == -EIO);
  CHECK_THAT(read_all(device, page, 0), HasPattern(0, seed));
  // Reading is what a debugger does, and works.
  std::vector<std::byte> got(page);
  CHECK(proc_mem(::getpid(), false, address_of(mapping.data()), got) == static_cast<long>(page));
  CHECK_THAT(got, HasPattern(0, seed));
}

TEST_CASE_METHOD(DeviceTest, "access: a debugger write to a private mapping makes a private copy",
                 "[access]") {
  // PFN-based strategies map shared only.
  open(GENERATE(from_range(page_based_strategies())));
  const auto seed2 = new_seed();
  write_all(device, pattern(page, 0, seed), 0);
  // Read-only, as a program's text: ptrace() may still plant a breakpoint.
  const auto mapping = Mapping::map(device, page, 0, Protection::read_only, Sharing::private_copy);

  const TraceableByChildren traceable;
  const auto status = run_in_child([&] {
    auto other = pattern(page, 0, seed2);
    const auto n = debugger_write(::getppid(), address_of(mapping.data()), other);
    if (n < 0) return failure(static_cast<int>(-n));
    return static_cast<std::size_t>(n) == page ? 0 : 1;
  });
  REQUIRE(status == ChildStatus::exited(0));
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed2));
  CHECK_THAT(read_all(device, page, 0), HasPattern(0, seed));
}

TEST_CASE_METHOD(DeviceTest, "access: /proc/pid/mem stops at the end of a shrunk buffer",
                 "[access]") {
  open(GENERATE(from_range(all_strategies)));
  const RestoreSize restore;
  const auto mapping = map_pattern(2 * page);
  device.resize(page);

  std::vector<std::byte> got(page);
  CHECK(proc_mem(::getpid(), false, address_of(mapping.data() + page), got) == -EIO);
  CHECK(proc_mem(::getpid(), true, address_of(mapping.data() + page), got) == -EIO);
  CHECK(proc_mem(::getpid(), false, address_of(mapping.data()), got) == static_cast<long>(page));
  CHECK_THAT(got, HasPattern(0, seed));
}

TEST_CASE_METHOD(DeviceTest, "access: vmsplice takes the pages of page-based mappings only",
                 "[access]") {
  open(GENERATE(from_range(all_strategies)));
  const auto length = 2 * page;
  const auto mapping = map_pattern(length);

  std::array<int, 2> ends{};
  REQUIRE(::pipe2(ends.data(), O_CLOEXEC | O_NONBLOCK) == 0);
  const Fd read_end{ends[0]};
  const Fd write_end{ends[1]};
  const iovec iov{const_cast<std::byte*>(mapping.data()), length};
  const auto spliced = ::vmsplice(write_end.get(), &iov, 1, 0);
  if (!maps_pages(strategy)) {
    CHECK(sys_error(spliced) == std::errc::bad_address);
    return;
  }
  REQUIRE(spliced == static_cast<ssize_t>(length));
  std::vector<std::byte> got(length);
  REQUIRE(::read(read_end.get(), got.data(), got.size()) == static_cast<ssize_t>(length));
  CHECK_THAT(got, HasPattern(0, seed));
}

TEST_CASE_METHOD(DeviceTest,
                 "access: MADV_POPULATE_READ and MADV_POPULATE_WRITE fill page-based mappings only",
                 "[access]") {
  open(GENERATE(from_range(all_strategies)));
  const auto length = 16 * page;
  write_all(device, pattern(length, 0, seed), 0);

  for (const int advice : {MADV_POPULATE_READ, MADV_POPULATE_WRITE}) {
    CAPTURE(advice == MADV_POPULATE_READ ? "MADV_POPULATE_READ" : "MADV_POPULATE_WRITE");
    auto mapping = Mapping::map(device, length);
    const auto populated = sys_error(::madvise(mapping.data(), length, advice));
    if (!maps_pages(strategy)) {
      CHECK(populated == std::errc::invalid_argument);
      continue;
    }
    REQUIRE(populated == no_error);
    const auto faults = minor_faults();
    for (std::size_t at = 0; at < length; at += page) {
      poke(mapping.data() + at, pattern_byte(at, seed));
    }
    CHECK(minor_faults() == faults);
    CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
  }
}

}  // namespace
