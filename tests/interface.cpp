// SPDX-License-Identifier: GPL-2.0
// Which file operation mmap() enters the driver through, as the build chose
// it (driver/compat.h) and as /sys/class/misc/mmapdemo/mmap_interface and
// modinfo show it: .mmap_prepare on the 7.x kernels, whose headers have
// mmap_action, vm_operations_struct.mapped and vma_desc_set_flags();
// .mmap on the kernels before mmap_prepare existed (6.17). A build that
// fell back to .mmap on a 7.x kernel fails here, not silently.
#include <string>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

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

}  // namespace
