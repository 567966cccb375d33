// SPDX-License-Identifier: GPL-2.0
// Where a mapping may lie: exactly the windows inside the buffer, each
// showing its own part of it; nothing past the end, however the offset and
// length are chosen; and mremap() cannot grow a mapping past what mmap()
// checked, but may shrink or move it (never with MREMAP_DONTUNMAP, which
// VM_DONTEXPAND refuses).
#include <sys/mman.h>

#include <array>
#include <csignal>
#include <string>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

std::error_code mremap_error(void* address, std::size_t old_length, std::size_t new_length,
                             int flags) {
  return ::mremap(address, old_length, new_length, flags) == MAP_FAILED ? last_error() : no_error;
}

TEST_CASE_METHOD(DeviceTest, "bounds: mappings that leave the buffer are refused", "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  const auto size = device.info().size;

  struct Case {
    const char* what;
    std::uint64_t offset;
    std::uint64_t length;
    std::errc expected;
  };
  const std::array cases{
      Case{"one page more than the buffer", 0, size + page, std::errc::invalid_argument},
      Case{"one byte more than the buffer (rounds up to a page)", 0, size + 1,
           std::errc::invalid_argument},
      Case{"offset at the end", size, page, std::errc::invalid_argument},
      Case{"offset past the end", size + page, page, std::errc::invalid_argument},
      Case{"last page plus one", size - page, 2 * page, std::errc::invalid_argument},
      Case{"length 0xf0000000", 0, 0xf0000000, std::errc::invalid_argument},
      // Page index 2^32: a driver counting pages in 32 bits would map page 0.
      Case{"offset 2^44", std::uint64_t{1} << 44, page, std::errc::invalid_argument},
      // Reaches the driver (the core's own check passes), where byte
      // arithmetic pgoff * PAGE_SIZE + length would come within a page of 2^64.
      Case{"offset 2^64 - 2 pages", 0 - 2 * page, page, std::errc::invalid_argument},
      // offset + length wraps past 2^64: the core refuses it before the driver.
      Case{"offset 2^64 - 1 page, 2 pages", 0 - page, 2 * page, std::errc::value_too_large},
      Case{"length 0", 0, 0, std::errc::invalid_argument},
      Case{"unaligned offset", page / 2, page, std::errc::invalid_argument},
      Case{"offset 1", 1, page, std::errc::invalid_argument},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what, c.offset, c.length);
    // Private mappings read-only: a writable one is charged against memory
    // first, and 0xf0000000 bytes would fail there with ENOMEM.
    for (const auto sharing : {Sharing::shared, Sharing::private_copy}) {
      if (sharing == Sharing::private_copy && !maps_pages(strategy)) continue;
      const bool shared = sharing == Sharing::shared;
      CAPTURE(shared ? "MAP_SHARED read-write" : "MAP_PRIVATE read-only");
      std::error_code ec;
      const auto mapping =
          Mapping::map(device, static_cast<std::size_t>(c.length), c.offset,
                       shared ? Protection::read_write : Protection::read_only, sharing, ec);
      CHECK(ec == c.expected);
      CHECK(mapping.empty());
    }
  }
}

TEST_CASE_METHOD(DeviceTest, "bounds: every window inside the buffer maps exactly its part",
                 "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  const auto size = static_cast<std::size_t>(device.info().size);
  const auto pages = size / page;
  const auto expected = pattern(size, 0, seed);
  write_all(device, expected, 0);
  const std::span<const std::byte> buffer{expected};

  // First failure only: a broken driver would otherwise print thousands.
  std::string failure;
  const auto check = [&](std::size_t offset, std::size_t length) {
    const auto mapping = Mapping::map(device, length, offset, Protection::read_only);
    const auto difference = diff_bytes(mapping.bytes(), buffer.subspan(offset, length));
    if (!difference.empty() && failure.empty()) {
      failure = "offset " + std::to_string(offset) + " length " + std::to_string(length) + ": " +
                difference;
    }
  };

  // Every page on its own.
  for (std::size_t i = 0; i < pages; ++i) check(i * page, page);
  // The last n pages for every n up to 256 (the default buffer), then
  // doubling, so a large buffer does not take minutes under TCG.
  for (std::size_t n = 1; n <= pages; n = n < 256 ? n + 1 : n * 2) {
    check(size - n * page, n * page);
  }
  check(0, size);
  check(0, size - 1);  // rounds up to the whole buffer
  check(page, size - page);
  CHECK(failure == "");
}

// Two pages reserved PROT_NONE, the buffer's last page mapped over the
// first: the byte after the mapping is then certainly not mapped to anything.
TEST_CASE_METHOD(DeviceTest, "bounds: the byte after a mapping faults with SIGSEGV", "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  const auto size = device.info().size;
  write_all(device, pattern(page, size - page, seed), size - page);

  const auto region = Region::reserve(2 * page);
  REQUIRE(::mmap(region.data(), page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, device.fd(),
                 static_cast<off_t>(size - page)) == region.data());
  auto* const end = region.data() + page;
  CHECK_THAT((std::span<const std::byte>{region.data(), page}), HasPattern(size - page, seed));
  CHECK(terminating_signal([&] {
          (void)touch(end - 1);
          (void)touch(end);
        }) == SIGSEGV);
  CHECK(terminating_signal([&] {
          poke(end - 1, std::byte{1});
          poke(end, std::byte{1});
        }) == SIGSEGV);
}

TEST_CASE_METHOD(DeviceTest, "bounds: mremap cannot grow a mapping", "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  const auto size = static_cast<std::size_t>(device.info().size);

  // Even where the larger window would still lie inside the buffer.
  auto mapping = Mapping::map(device, page);
  CHECK(mremap_error(mapping.data(), page, 2 * page, 0) == std::errc::bad_address);
  CHECK(mremap_error(mapping.data(), page, 2 * page, MREMAP_MAYMOVE) == std::errc::bad_address);

  auto whole = Mapping::map(device, size);
  CHECK(mremap_error(whole.data(), size, size + page, MREMAP_MAYMOVE) == std::errc::bad_address);
}

TEST_CASE_METHOD(DeviceTest, "bounds: mremap shrinks a mapping", "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  write_all(device, pattern(2 * page, 0, seed), 0);
  auto region = Region::map(device, 2 * page, 0);

  // In a child, whose copy of the address space nothing else touches
  // between the shrink and the access to the released page.
  CHECK(run_in_child([&] {
          if (::mremap(region.data(), 2 * page, page, 0) != region.data()) return 1;
          if (!has_pattern(region.bytes().first(page), 0, seed)) return 2;
          (void)touch(region.data() + page);  // released: SIGSEGV
          return 3;
        }) == ChildStatus::killed(SIGSEGV));

  REQUIRE(::mremap(region.data(), 2 * page, page, 0) == region.data());
  region = Region{region.release(), page};
  CHECK_THAT(region.bytes(), HasPattern(0, seed));
  CHECK(vm_flags(region.data()).contains("de"));
}

TEST_CASE_METHOD(DeviceTest, "bounds: mremap moves a mapping and its data follows", "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  write_all(device, pattern(3 * page, 0, seed), 0);

  // Two pages from offset one page, so the move must keep the page offset;
  // both pages touched, so the fault strategy has page table entries to move.
  auto source = Region::map(device, 2 * page, page);
  fill_pattern(source.bytes(), page, seed);
  auto target = Region::reserve(2 * page);
  REQUIRE(::mremap(source.data(), 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_FIXED,
                   target.data()) == target.data());
  (void)source.release();  // unmapped by the move; target owns the mapping now

  CHECK_THAT(target.bytes(), HasPattern(page, seed));
  const auto seed2 = new_seed();
  fill_pattern(target.bytes(), page, seed2);
  CHECK_THAT(read_all(device, 2 * page, page), HasPattern(page, seed2));
  const auto flags = vm_flags(target.data());
  CHECK(flags.contains("sh"));
  CHECK(flags.contains("de"));
  CHECK(flags.contains("pf") == !maps_pages(strategy));
}

TEST_CASE_METHOD(DeviceTest, "bounds: mremap DONTUNMAP is refused with EINVAL", "[bounds]") {
  open(GENERATE(from_range(all_strategies)));
  write_all(device, pattern(2 * page, 0, seed), 0);

  // VM_DONTEXPAND (and VM_PFNMAP): the kernel keeps such a mapping where it is.
  auto mapping = Region::map(device, 2 * page, 0);
  CHECK(mremap_error(mapping.data(), 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP) ==
        std::errc::invalid_argument);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
}

}  // namespace
