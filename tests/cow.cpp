// SPDX-License-Identifier: GPL-2.0
// MAP_PRIVATE: copy-on-write with the page-based strategies, refused
// (EINVAL) by the PFN-based ones (remap, huge). A private mapping reads the
// buffer; a private write makes a copy that nothing else ever sees: not
// read(), not a shared mapping, not another process, not a forked child or
// parent. Pages never written privately keep following the buffer, as with
// any file.
#include <sys/mman.h>

#include <csignal>
#include <optional>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

// A private mapping for a page-based strategy; for a PFN-based one, checks
// that it is refused with EINVAL and returns nothing, which ends the test
// there.
std::optional<Mapping> map_private(const Device& device, Strategy strategy, std::size_t length,
                                   Protection protection = Protection::read_write) {
  std::error_code ec;
  auto mapping = Mapping::map(device, length, 0, protection, Sharing::private_copy, ec);
  if (!maps_pages(strategy)) {
    CHECK(ec == std::errc::invalid_argument);
    CHECK(mapping.empty());
    return std::nullopt;
  }
  REQUIRE(ec == no_error);
  return mapping;
}

TEST_CASE_METHOD(DeviceTest, "cow: only page-based strategies map privately", "[cow]") {
  open(GENERATE(from_range(all_strategies)));
  for (const auto protection : {Protection::read_only, Protection::read_write}) {
    CAPTURE(protection == Protection::read_only ? "read-only" : "read-write");
    CHECK(map_private(device, strategy, page_size(), protection).has_value() ==
          maps_pages(strategy));
  }
}

TEST_CASE_METHOD(DeviceTest, "cow: a private mapping reads the buffer", "[cow]") {
  open(GENERATE(from_range(all_strategies)));
  write_all(device, pattern(4 * page, 0, seed), 0);
  const auto mapping = map_private(device, strategy, 4 * page);
  if (!mapping) return;
  CHECK_THAT(mapping->bytes(), HasPattern(0, seed));
}

TEST_CASE_METHOD(DeviceTest, "cow: a private write never reaches the buffer", "[cow]") {
  open(GENERATE(from_range(all_strategies)));
  const auto shared_seed = new_seed();
  const auto private_seed = new_seed();

  write_all(device, pattern(2 * page, 0, shared_seed), 0);
  auto mapping = map_private(device, strategy, 2 * page);
  if (!mapping) return;
  // Read first, so the write has a mapped shared page to copy from.
  REQUIRE_THAT(mapping->bytes(), HasPattern(0, shared_seed));
  fill_pattern(mapping->bytes().first(page), 0, private_seed);
  CHECK_THAT(mapping->bytes().first(page), HasPattern(0, private_seed));

  // Not through read(), nor a shared mapping of this file, nor of a file
  // with the other strategy, nor in another process.
  CHECK_THAT(read_all(device, 2 * page, 0), HasPattern(0, shared_seed));
  const auto shared = Mapping::map(device, 2 * page);
  CHECK_THAT(shared.bytes(), HasPattern(0, shared_seed));
  const auto remap = open_device(Strategy::remap);
  CHECK_THAT(Mapping::map(remap, 2 * page).bytes(), HasPattern(0, shared_seed));
  CHECK(run_in_child([&] {
          const auto own = open_with(other(strategy));
          const auto view = Mapping::map(own, 2 * page, 0, Protection::read_only);
          return has_pattern(view.bytes(), 0, shared_seed) ? 0 : 1;
        }) == ChildStatus::exited(0));
}

TEST_CASE_METHOD(DeviceTest, "cow: private writes of a forked child and its parent stay their own",
                 "[cow]") {
  open(GENERATE(from_range(all_strategies)));
  const auto shared_seed = new_seed();
  const auto parent_before = new_seed();
  const auto parent_after = new_seed();
  const auto child_seed = new_seed();

  write_all(device, pattern(2 * page, 0, shared_seed), 0);
  auto mapping = map_private(device, strategy, 2 * page);
  if (!mapping) return;
  fill_pattern(mapping->bytes().first(page), 0, parent_before);  // a copy the child inherits

  const Notice parent_wrote;
  Child child{[&] {
    if (!parent_wrote.wait()) return 1;
    if (!has_pattern(mapping->bytes().first(page), 0, parent_before)) return 2;
    if (!has_pattern(mapping->bytes().subspan(page), page, shared_seed)) return 3;
    fill_pattern(mapping->bytes(), 0, child_seed);
    return has_pattern(mapping->bytes(), 0, child_seed) ? 0 : 4;
  }};
  fill_pattern(mapping->bytes().subspan(page), page, parent_after);  // after fork
  parent_wrote.post();
  REQUIRE(child.wait() == ChildStatus::exited(0));

  CHECK_THAT(mapping->bytes().first(page), HasPattern(0, parent_before));
  CHECK_THAT(mapping->bytes().subspan(page), HasPattern(page, parent_after));
  CHECK_THAT(read_all(device, 2 * page, 0), HasPattern(0, shared_seed));
}

TEST_CASE_METHOD(DeviceTest, "cow: unwritten pages of a private mapping follow the buffer",
                 "[cow]") {
  open(GENERATE(from_range(all_strategies)));
  const auto old_seed = new_seed();
  const auto private_seed = new_seed();
  const auto updated_seed = new_seed();
  const auto stored_seed = new_seed();

  write_all(device, pattern(3 * page, 0, old_seed), 0);
  auto mapping = map_private(device, strategy, 3 * page);
  if (!mapping) return;
  // Page 0 written privately, page 1 read (mapped), page 2 never touched.
  fill_pattern(mapping->bytes().first(page), 0, private_seed);
  REQUIRE_THAT(mapping->bytes().subspan(page, page), HasPattern(page, old_seed));

  write_all(device, pattern(3 * page, 0, updated_seed), 0);
  CHECK_THAT(mapping->bytes().first(page), HasPattern(0, private_seed));
  CHECK_THAT(mapping->bytes().subspan(page), HasPattern(page, updated_seed));

  // Stores through a shared mapping, too.
  auto shared = Mapping::map(device, 3 * page);
  fill_pattern(shared.bytes(), 0, stored_seed);
  CHECK_THAT(mapping->bytes().first(page), HasPattern(0, private_seed));
  CHECK_THAT(mapping->bytes().subspan(page), HasPattern(page, stored_seed));
}

TEST_CASE_METHOD(DeviceTest, "cow: a read-only private mapping reads and follows the buffer",
                 "[cow]") {
  open(GENERATE(from_range(all_strategies)));
  const auto seed2 = new_seed();

  write_all(device, pattern(2 * page, 0, seed), 0);
  const auto mapping = map_private(device, strategy, 2 * page, Protection::read_only);
  if (!mapping) return;
  CHECK_THAT(mapping->bytes(), HasPattern(0, seed));
  write_all(device, pattern(2 * page, 0, seed2), 0);
  CHECK_THAT(mapping->bytes(), HasPattern(0, seed2));
  CHECK(terminating_signal([&] { poke(const_cast<std::byte*>(mapping->data()), std::byte{1}); }) ==
        SIGSEGV);
}

// Copy-on-write needs no write access to the file: the copies are private.
TEST_CASE_METHOD(DeviceTest, "cow: a read-only file maps privately and writably", "[cow]") {
  open(GENERATE(from_range(all_strategies)), O_RDONLY);
  const auto private_seed = new_seed();

  write_all(open_device(strategy), pattern(page, 0, seed), 0);
  auto mapping = map_private(device, strategy, page);
  if (!mapping) return;
  CHECK_THAT(mapping->bytes(), HasPattern(0, seed));
  fill_pattern(mapping->bytes(), 0, private_seed);
  CHECK_THAT(mapping->bytes(), HasPattern(0, private_seed));
  CHECK_THAT(read_all(device, page, 0), HasPattern(0, seed));
}

}  // namespace
