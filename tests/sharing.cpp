// SPDX-License-Identifier: GPL-2.0
// One buffer, shared by every mapping: across fork, across processes that
// open the device on their own, across threads, within one process, and
// across files that map with different strategies.
#include <algorithm>
#include <barrier>
#include <thread>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

TEST_CASE_METHOD(DeviceTest, "sharing: a forked child and its parent share the mapping both ways",
                 "[sharing]") {
  open(GENERATE(from_range(all_strategies)));
  auto mapping = Mapping::map(device, 2 * page);
  fill_pattern(mapping.bytes().first(page), 0, seed);

  const auto status = run_in_child([&] {
    if (!has_pattern(mapping.bytes().first(page), 0, seed)) return 1;  // the parent's store
    fill_pattern(mapping.bytes().subspan(page, page), page, seed);
    return 0;
  });
  REQUIRE(status == ChildStatus::exited(0));
  CHECK_THAT(mapping.bytes().subspan(page, page), HasPattern(page, seed));
  CHECK_THAT(read_all(device, page, page), HasPattern(page, seed));
}

// Nothing is inherited but the doorbells: each child opens and maps the
// device itself, A with the strategy under test and B with the other one.
// Each writes only after the other has mapped, so each sees a store made
// after its own mmap().
TEST_CASE("sharing: two processes that map the device on their own see each other", "[sharing]") {
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  const auto page = page_size();
  const auto seed = new_seed();
  write_all(open_device(strategy), std::vector<std::byte>(2 * page), 0);

  const Notice a_mapped;
  const Notice b_mapped;
  const Notice a_wrote;
  const Notice b_wrote;

  Child a{[&] {
    const auto device = open_with(strategy);
    auto mapping = Mapping::map(device, 2 * page);
    a_mapped.post();
    if (!b_mapped.wait()) return 1;
    fill_pattern(mapping.bytes().first(page), 0, seed);
    a_wrote.post();
    if (!b_wrote.wait()) return 2;
    return has_pattern(mapping.bytes().subspan(page, page), page, seed) ? 0 : 3;
  }};
  Child b{[&] {
    const auto device = open_with(other(strategy));
    auto mapping = Mapping::map(device, 2 * page);
    b_mapped.post();
    if (!a_mapped.wait() || !a_wrote.wait()) return 1;
    if (!has_pattern(mapping.bytes().first(page), 0, seed)) return 2;
    fill_pattern(mapping.bytes().subspan(page, page), page, seed);
    b_wrote.post();
    return 0;
  }};
  CHECK(a.wait() == ChildStatus::exited(0));
  CHECK(b.wait() == ChildStatus::exited(0));
}

TEST_CASE_METHOD(DeviceTest, "sharing: threads write disjoint slices of one mapping", "[sharing]") {
  open(GENERATE(from_range(all_strategies)));
  constexpr std::size_t threads = 4;

  const auto size = device.info().size;
  auto mapping = Mapping::map(device, size);
  const auto slice = size / threads;
  {
    std::vector<std::jthread> workers;
    for (std::size_t i = 0; i < threads; ++i) {
      workers.emplace_back(
          [&, i] { fill_pattern(mapping.bytes().subspan(i * slice, slice), i * slice, seed); });
    }
  }
  CHECK_THAT(mapping.bytes().first(threads * slice), HasPattern(0, seed));
  CHECK_THAT(read_all(device, threads * slice, 0), HasPattern(0, seed));
}

TEST_CASE("sharing: threads with their own files and mappings see each other", "[sharing]") {
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  constexpr std::size_t threads = 4;
  const auto seed = new_seed();

  // Opened and mapped up front: a failure then cannot strand the barrier.
  std::vector<Device> devices;
  std::vector<Mapping> mappings;
  mappings.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    devices.push_back(open_device(i % 2 == 0 ? strategy : other(strategy)));
  }
  const auto size = devices.front().info().size;
  for (const auto& device : devices) mappings.push_back(Mapping::map(device, size));
  const auto slice = size / threads;

  std::barrier all_written{static_cast<std::ptrdiff_t>(threads)};
  std::vector<int> saw_all(threads, 0);  // int, not bool: one object per thread
  {
    std::vector<std::jthread> workers;
    for (std::size_t i = 0; i < threads; ++i) {
      workers.emplace_back([&, i] {
        fill_pattern(mappings[i].bytes().subspan(i * slice, slice), i * slice, seed);
        all_written.arrive_and_wait();
        saw_all[i] = has_pattern(mappings[i].bytes().first(threads * slice), 0, seed) ? 1 : 0;
      });
    }
  }
  CHECK(saw_all == std::vector<int>(threads, 1));
}

TEST_CASE_METHOD(DeviceTest, "sharing: mappings of one file alias each other", "[sharing]") {
  open(GENERATE(from_range(all_strategies)));
  auto first = Mapping::map(device, 2 * page);
  auto second = Mapping::map(device, 2 * page);
  auto second_page = Mapping::map(device, page, page);
  REQUIRE(first.data() != second.data());

  fill_pattern(first.bytes(), 0, seed);
  CHECK_THAT(second.bytes(), HasPattern(0, seed));
  CHECK_THAT(second_page.bytes(), HasPattern(page, seed));

  const auto seed2 = new_seed();
  fill_pattern(second_page.bytes(), page, seed2);
  CHECK_THAT(first.bytes().subspan(page), HasPattern(page, seed2));
  CHECK_THAT(first.bytes().first(page), HasPattern(0, seed));
}

TEST_CASE("sharing: mappings through files with different strategies alias", "[sharing]") {
  require_device();
  const auto page = page_size();
  const auto seed = new_seed();

  const auto remap = open_device(Strategy::remap);
  const auto fault = open_device(Strategy::fault);
  REQUIRE(remap.info().strategy == Strategy::remap);
  REQUIRE(fault.info().strategy == Strategy::fault);
  auto by_remap = Mapping::map(remap, 2 * page);
  auto by_fault = Mapping::map(fault, 2 * page);

  fill_pattern(by_remap.bytes().first(page), 0, seed);
  CHECK_THAT(by_fault.bytes().first(page), HasPattern(0, seed));
  fill_pattern(by_fault.bytes().subspan(page), page, seed);
  CHECK_THAT(by_remap.bytes().subspan(page), HasPattern(page, seed));
}

TEST_CASE_METHOD(DeviceTest, "sharing: what one file wrote the next file maps and reads",
                 "[sharing]") {
  open(GENERATE(from_range(all_strategies)));
  write_all(open_device(other(strategy)), pattern(3 * page, 0, seed), 0);  // closed right after

  CHECK_THAT(read_all(device, 3 * page, 0), HasPattern(0, seed));
  const auto mapping = Mapping::map(device, 3 * page, 0, Protection::read_only);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
}

}  // namespace
