// SPDX-License-Identifier: GPL-2.0
// Memory cgroups (v2): the memory a resize allocates is charged to the
// cgroup of the process that resizes, so a resize past its memory.max fails
// with ENOMEM and leaves the buffer as it was; concurrent resizers hold no
// more than one new allocation at a time; and a resize frees the memory it
// replaced at once, whatever maps it (sysfs retained_bytes counts what
// mappings would keep).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string cgroup_root = "/sys/fs/cgroup";

// Resizes of 16 MiB under TCG on a busy host can take seconds each.
constexpr std::chrono::milliseconds slow_guest = 300s;

// A child cgroup of the root with the memory controller, removed at the end
// (once the processes the test moved into it have exited). SKIPs where the
// kernel has no cgroup v2 or no memory controller.
class MemoryCgroup {
 public:
  MemoryCgroup() {
    require_root();
    if (!std::filesystem::exists(cgroup_root + "/cgroup.controllers")) {
      std::filesystem::create_directories(cgroup_root);
      if (::mount("cgroup2", cgroup_root.c_str(), "cgroup2", 0, nullptr) != 0) {
        const auto ec = last_error();
        if (ec == std::errc::no_such_device) SKIP("the kernel has no cgroup v2 (CONFIG_CGROUPS)");
        throw std::system_error(ec, "mount cgroup2 on " + cgroup_root);
      }
    }
    // fmt::format: GCC 12's -Wrestrict misfires on " " + a string at -O3.
    const auto controllers = fmt::format(" {}", read_text(cgroup_root + "/cgroup.controllers"));
    if (controllers.find(" memory") == std::string::npos) {
      SKIP("cgroup v2 has no memory controller (CONFIG_MEMCG)");
    }
    write_file(cgroup_root + "/cgroup.subtree_control", "+memory");
    path_ = cgroup_root + "/mmapdemo-test-" + std::to_string(::getpid());
    std::filesystem::create_directory(path_);
  }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;
  ~MemoryCgroup() {
    // The cgroup empties as its processes are reaped; allow a moment.
    for (int i = 0; i < 100 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; i++) {
      std::this_thread::sleep_for(10ms);
    }
  }

  // Moves the calling process into the cgroup; without Catch2, for children.
  void enter() const { write_file(path_ + "/cgroup.procs", "0"); }
  [[nodiscard]] std::uint64_t current() const { return read_number(path_ + "/memory.current"); }
  void limit(std::uint64_t bytes) const {
    write_file(path_ + "/memory.max", std::to_string(bytes));
  }

 private:
  std::string path_;
};

// The preamble of the resize tests: a file of the fault strategy, the
// buffer's size restored at the end, a cgroup of their own and a size every
// backend reaches (the kmalloc backend ends at 4 MiB on x86-64).
class CgroupResizeTest {
 protected:
  Device device = open_device(Strategy::fault);
  RestoreSize restore;
  MemoryCgroup cgroup;
  std::uint64_t size = device.info().backend == Backend::kmalloc ? 2u << 20 : 16u << 20;
};

TEST_CASE_METHOD(CgroupResizeTest, "memcg: a resize is charged to the cgroup of the resizer",
                 "[memcg]") {
  const auto before = cgroup.current();
  const auto status = run_in_child([&] {
    cgroup.enter();
    open_with(Strategy::fault).resize(size);
    return 0;
  });
  REQUIRE(status == ChildStatus::exited(0));
  CHECK(device.info().size == size);
  // The child is gone; what it allocated for the buffer stays charged.
  CHECK(cgroup.current() >= before + size);
}

TEST_CASE_METHOD(CgroupResizeTest,
                 "memcg: a resize past memory.max fails with ENOMEM and changes nothing",
                 "[memcg]") {
  device.resize(size);
  const auto seed = new_seed();
  write_all(device, pattern(size, 0, seed), 0);
  const auto resizes = read_number(sysfs_path("resizes"));

  const Notice entered;
  const Notice limited;
  Child child([&] {
    cgroup.enter();
    const auto resizer = open_with(Strategy::fault);
    entered.post();
    if (!limited.wait(slow_guest)) return 1;
    std::error_code ec;
    resizer.resize(2 * size, ec);
    return ec == std::errc::not_enough_memory ? 0 : 2;
  });
  REQUIRE(entered.wait(slow_guest));
  // Room for the child's own pages, not for the new memory.
  cgroup.limit(cgroup.current() + (1u << 20));
  limited.post();
  REQUIRE(child.wait() == ChildStatus::exited(0));

  CHECK(device.info().size == size);
  CHECK(read_number(sysfs_path("resizes")) == resizes);
  CHECK_THAT(read_all(device, size, 0), HasPattern(0, seed));
}

// Each resize allocates the new memory before it frees the old. Serialised,
// the cgroup holds at most two buffers' worth at a time, the one being
// replaced and its replacement; four resizers allocating at once would need
// up to five and run into the limit of three.
TEST_CASE_METHOD(CgroupResizeTest, "memcg: concurrent resizers hold at most one new allocation",
                 "[memcg]") {
  constexpr std::size_t resizers = 4;
  constexpr std::uint64_t rounds = 5;

  std::vector<std::unique_ptr<Notice>> entered;
  for (std::size_t i = 0; i < resizers; i++) entered.push_back(std::make_unique<Notice>());
  const Notice start;
  std::vector<std::unique_ptr<Child>> children;
  for (std::size_t i = 0; i < resizers; i++) {
    children.push_back(std::make_unique<Child>([&, i] {
      cgroup.enter();
      const auto resizer = open_with(Strategy::fault);
      entered[i]->post();
      if (!start.wait(slow_guest)) return 1;
      for (std::uint64_t round = 0; round < rounds; round++) {
        std::error_code ec;
        resizer.resize(size - round * page_size(), ec);
        if (ec) return 10 + ec.value();
      }
      return 0;
    }));
  }
  for (const auto& notice : entered) REQUIRE(notice->wait(slow_guest));
  // Two buffers and slack for the charges kernels batch per CPU.
  cgroup.limit(cgroup.current() + 3 * size);
  for (std::size_t i = 0; i < resizers; i++) start.post();
  for (const auto& child : children) CHECK(child->wait(slow_guest) == ChildStatus::exited(0));
}

// A resize unmaps every mapping before it frees what it replaced, so no
// mapping needs that memory kept, not even a remap mapping that .mmap
// filled before the core linked it (the resize waits for the link).
TEST_CASE("memcg: a resize frees the memory it replaced however the buffer is mapped", "[memcg]") {
  require_device();
  const RestoreSize restore;
  const auto size = restore.original();
  const auto retained = sysfs_path("retained_bytes");
  REQUIRE(read_number(retained) == 0);
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  const auto device = open_device(strategy);
  const auto seed = new_seed();
  auto mapping = Mapping::map(device, size);
  fill_pattern(mapping.bytes().first(page_size()), 0, seed);

  device.resize(size);
  CHECK(read_number(retained) == 0);
  // Its next faults map the new memory, which holds the data moved.
  CHECK_THAT(mapping.bytes().first(page_size()), HasPattern(0, seed));
  device.resize(size);
  CHECK(read_number(retained) == 0);
  mapping.unmap();
  CHECK(read_number(retained) == 0);
}

}  // namespace
