// SPDX-License-Identifier: GPL-2.0
// The buffer's reference count, read from debugfs (mmapdemo/refs: the
// references open files and VMAs hold, the module's own not counted). Each
// open file and each VMA holds one; the VMAs that fork(), a partial
// munmap() (a VMA split) and an mremap() move make take theirs in
// vm_ops->open, and the count comes back to zero when all are gone. The
// debugfs mapping list follows the VMAs.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

std::uint64_t refs() { return read_number(debugfs_path("refs")); }

// The lines of the debugfs mapping list.
std::vector<std::string> mapping_lines() {
  std::vector<std::string> lines;
  const auto text = read_text(debugfs_path("mappings"));
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

std::string hex(const void* address) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%lx", reinterpret_cast<unsigned long>(address));
  return text;
}

// "pid=P start=0x... length=L pgoff=O strategy=S": the fields a VMA's line
// starts with (its fault count follows).
std::string line_start(const void* address, std::size_t length, std::size_t pgoff,
                       Strategy strategy) {
  return "pid=" + std::to_string(::getpid()) + " start=" + hex(address) +
         " length=" + std::to_string(length) + " pgoff=" + std::to_string(pgoff) +
         " strategy=" + std::string{to_string(strategy)} + " ";
}

bool listed(const std::vector<std::string>& lines, const std::string& start) {
  for (const auto& line : lines) {
    if (line.starts_with(start)) return true;
  }
  return false;
}

TEST_CASE("refcount: fork and a VMA split and an mremap move balance back to zero", "[refcount]") {
  require_root();
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  const auto page = page_size();
  REQUIRE(refs() == 0);  // nothing else has the device open or mapped

  auto device = open_device(strategy);
  CHECK(refs() == 1);
  auto* const base = static_cast<std::byte*>(
      ::mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd(), 0));
  REQUIRE(base != MAP_FAILED);
  CHECK(refs() == 2);
  auto lines = mapping_lines();
  CHECK(lines.size() == 1);
  CHECK(listed(lines, line_start(base, 4 * page, 0, strategy)));
  fill_pattern({base, 4 * page}, 0, 7);

  {
    const Notice forked;
    const Notice checked;
    Child child{[&] {
      forked.post();
      if (!checked.wait()) return 1;
      return has_pattern({base, 4 * page}, 0, 7) ? 0 : 2;
    }};
    REQUIRE(forked.wait());
    CHECK(refs() == 3);  // the child's copy of the VMA; the file is shared
    CHECK(mapping_lines().size() == 2);
    checked.post();
    CHECK(child.wait() == ChildStatus::exited(0));
  }
  CHECK(refs() == 2);

  // Unmapping page 1 splits the VMA in two.
  REQUIRE(::munmap(base + page, page) == 0);
  CHECK(refs() == 3);
  lines = mapping_lines();
  CHECK(lines.size() == 2);
  CHECK(listed(lines, line_start(base, page, 0, strategy)));
  CHECK(listed(lines, line_start(base + 2 * page, 2 * page, 2, strategy)));

  // Moving pages 2-3 elsewhere makes a new VMA and closes the old one.
  auto target = Region::reserve(2 * page);
  void* const moved =
      ::mremap(base + 2 * page, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_FIXED, target.data());
  REQUIRE(moved == target.data());
  target.release();
  CHECK(refs() == 3);
  lines = mapping_lines();
  CHECK(lines.size() == 2);
  CHECK(listed(lines, line_start(moved, 2 * page, 2, strategy)));
  CHECK(has_pattern({static_cast<std::byte*>(moved), 2 * page}, 2 * page, 7));

  // Closing the descriptor releases nothing yet: the mappings hold the file,
  // which is released (and drops its reference) with the last of them.
  device.close();
  CHECK(refs() == 3);
  REQUIRE(::munmap(moved, 2 * page) == 0);
  CHECK(refs() == 2);
  REQUIRE(::munmap(base, page) == 0);
  CHECK(refs() == 0);
  CHECK(mapping_lines().empty());
}

}  // namespace
