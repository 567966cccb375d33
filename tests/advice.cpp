// SPDX-License-Identifier: GPL-2.0
// madvise() advice that drops or ages pages, and msync()/fsync(). The
// PFN-based strategies (remap, huge) are VM_PFNMAP, on which the kernel
// refuses MADV_DONTNEED, MADV_COLD and MADV_PAGEOUT with EINVAL. On the
// page-based ones the advice succeeds: shared pages fault back in unchanged
// (prefault's through its .fault), and private copies are dropped, so those
// pages follow the buffer again. The device has no .fsync, and there is
// nothing to write back: msync(MS_SYNC) of a shared mapping and fsync() fail
// with EINVAL, msync(MS_ASYNC) succeeds.
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

constexpr std::array advices{std::pair{MADV_DONTNEED, "MADV_DONTNEED"},
                             std::pair{MADV_COLD, "MADV_COLD"},
                             std::pair{MADV_PAGEOUT, "MADV_PAGEOUT"}};

TEST_CASE_METHOD(DeviceTest,
                 "advice: DONTNEED COLD and PAGEOUT fail with EINVAL on PFN mappings only",
                 "[advice]") {
  open(GENERATE(from_range(all_strategies)));
  const auto length = 8 * page;
  auto mapping = map_pattern(length);
  REQUIRE_THAT(mapping.bytes(), HasPattern(0, seed));

  for (const auto& [advice, name] : advices) {
    CAPTURE(name);
    const auto advised = sys_error(::madvise(mapping.data(), length, advice));
    if (!maps_pages(strategy)) {
      CHECK(advised == std::errc::invalid_argument);
    } else {
      CHECK(advised == no_error);
    }
    // Whether the pages were dropped or not, they read the buffer.
    CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
  }
}

TEST_CASE_METHOD(DeviceTest,
                 "advice: DONTNEED drops private copies and the pages follow the buffer again",
                 "[advice]") {
  open(GENERATE(from_range(page_based_strategies())));
  const auto length = 4 * page;
  const auto shared_seed = new_seed();
  const auto private_seed = new_seed();
  const auto later_seed = new_seed();
  write_all(device, pattern(length, 0, shared_seed), 0);

  auto mapping = Mapping::map(device, length, 0, Protection::read_write, Sharing::private_copy);
  fill_pattern(mapping.bytes(), 0, private_seed);
  REQUIRE_THAT(read_all(device, length, 0), HasPattern(0, shared_seed));

  REQUIRE(sys_error(::madvise(mapping.data(), length, MADV_DONTNEED)) == no_error);
  CHECK_THAT(mapping.bytes(), HasPattern(0, shared_seed));
  write_all(device, pattern(length, 0, later_seed), 0);
  CHECK_THAT(mapping.bytes(), HasPattern(0, later_seed));
}

TEST_CASE_METHOD(DeviceTest,
                 "advice: msync MS SYNC and fsync fail with EINVAL and MS ASYNC succeeds",
                 "[advice]") {
  open(GENERATE(from_range(all_strategies)));
  const auto length = 2 * page;
  auto mapping = Mapping::map(device, length);
  poke(mapping.data(), std::byte{0x39});

  CHECK(sys_error(::msync(mapping.data(), length, MS_SYNC)) == std::errc::invalid_argument);
  CHECK(sys_error(::msync(mapping.data(), length, MS_ASYNC)) == no_error);
  CHECK(sys_error(::fsync(device.fd())) == std::errc::invalid_argument);
  CHECK(sys_error(::fdatasync(device.fd())) == std::errc::invalid_argument);
  // The store needed none of them: read() sees it at once.
  CHECK(read_all(device, 1, 0).front() == std::byte{0x39});
}

}  // namespace
