// SPDX-License-Identifier: GPL-2.0
// Which file operation mmap() enters the driver through, as the build chose
// it (driver/compat.h) and as /sys/class/misc/mmapdemo/mmap_interface and
// modinfo show it: .mmap_prepare on the 7.x kernels, whose headers have
// mmap_action, vm_operations_struct.mapped and vma_desc_set_flags();
// .mmap on the kernels before mmap_prepare existed (6.17). A build that
// fell back to .mmap on a 7.x kernel fails here, not silently.
//
// Through .mmap_prepare the kernel fills a mapping from the driver's
// mmap_action where one action can: a prefault, a remap of one physically
// contiguous run (one page, or the kmalloc backend's whole buffer). sysfs
// mmap_actions counts those; a remap of many runs and the fault-based
// strategies have none, and .mmap never has one.
#include <cstdint>
#include <string>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

TEST_CASE("interface: the module maps through mmap prepare on 7.x and through mmap before 6.17",
          "[interface]") {
  require_device();
  const auto interface = read_text(sysfs_path("mmap_interface"));
  CAPTURE(interface);
  if (kernel_at_least(7, 0)) {
    CHECK(interface == "mmap_prepare\n");
  } else if (!kernel_at_least(6, 17)) {
    CHECK(interface == "mmap\n");
  } else {
    // 6.17 to 6.19: .mmap_prepare without all that the driver uses.
    CHECK((interface == "mmap\n" || interface == "mmap_prepare\n"));
  }
}

struct Filled {
  std::uint64_t remaps = 0;
  std::uint64_t actions = 0;
};

// What one mmap() of length bytes with the strategy adds to the counters;
// the mapping must show what the buffer holds.
Filled filled_by_mmap(Strategy strategy, std::size_t length) {
  const auto device = open_device(strategy);
  const auto seed = new_seed();
  write_all(device, pattern(length, 0, seed), 0);
  const auto remaps = read_number(sysfs_path("remaps"));
  const auto actions = read_number(sysfs_path("mmap_actions"));
  const auto mapping = Mapping::map(device, length);
  const Filled filled{read_number(sysfs_path("remaps")) - remaps,
                      read_number(sysfs_path("mmap_actions")) - actions};
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
  return filled;
}

TEST_CASE("interface: mmap prepare fills one contiguous run and a prefault by an mmap action",
          "[interface]") {
  require_device();
  const bool prepare = read_text(sysfs_path("mmap_interface")) == "mmap_prepare\n";
  const auto size = static_cast<std::size_t>(open_device(Strategy::fault).info().size);
  const auto backend = open_device(Strategy::fault).info().backend;
  const std::uint64_t action = prepare ? 1 : 0;
  CAPTURE(prepare, backend);

  const auto one_page = filled_by_mmap(Strategy::remap, page_size());
  CHECK(one_page.remaps == 1);
  CHECK(one_page.actions == action);

  const auto prefault = filled_by_mmap(Strategy::prefault, size);
  CHECK(prefault.remaps == 1);
  CHECK(prefault.actions == action);

  const auto whole = filled_by_mmap(Strategy::remap, size);
  CHECK(whole.remaps == 1);
  if (backend == Backend::kmalloc) {
    CHECK(whole.actions == action);
  } else {
    // Contiguous or not as the allocator placed it; only .mmap is known.
    CHECK(whole.actions <= action);
  }

  const auto fault = filled_by_mmap(Strategy::fault, size);
  CHECK(fault.remaps == 0);
  CHECK(fault.actions == 0);
}

}  // namespace
