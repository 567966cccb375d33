// SPDX-License-Identifier: GPL-2.0
// read()/write() and the mappings are views of the same bytes: what one
// writes, the others see at once, at any offset and alignment, even when
// read() fills or write() drains a mapping of the device itself, and across
// processes.
#include <cstring>
#include <utility>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

// (offset, length) pairs at every alignment: single bytes, page-straddling
// runs, whole pages, the buffer's last bytes.
std::vector<std::pair<std::size_t, std::size_t>> ranges(std::size_t size) {
  const auto page = page_size();
  std::vector<std::pair<std::size_t, std::size_t>> all{{0, 1},
                                                       {1, 7},
                                                       {page - 3, 6},
                                                       {page, page},
                                                       {2 * page + 5, 2 * page + 9},
                                                       {size / 2 - 1, 3},
                                                       {size - page - 1, page + 1},
                                                       {size - 1, 1}};
  std::erase_if(all, [size](const auto& range) { return range.first + range.second > size; });
  return all;
}

TEST_CASE_METHOD(DeviceTest, "coherency: pwrite is visible through a mapping at once",
                 "[coherency]") {
  open(GENERATE(from_range(all_strategies)));
  const auto size = static_cast<std::size_t>(device.info().size);
  const auto mapping = Mapping::map(device, size, 0, Protection::read_only);

  // A model of the buffer, updated with every write; nothing else may change.
  std::vector<std::byte> model(size);
  write_all(device, model, 0);
  for (const auto& [offset, length] : ranges(size)) {
    CAPTURE(offset, length);
    const auto bytes = pattern(length, offset, new_seed());
    REQUIRE(device.pwrite(bytes, offset) == length);
    std::memcpy(model.data() + offset, bytes.data(), length);
    CHECK_THAT(mapping.bytes().subspan(offset, length), HasBytes(bytes));
  }
  CHECK_THAT(mapping.bytes(), HasBytes(model));
}

TEST_CASE_METHOD(DeviceTest, "coherency: stores through a mapping are visible to pread at once",
                 "[coherency]") {
  open(GENERATE(from_range(all_strategies)));
  const auto size = static_cast<std::size_t>(device.info().size);
  auto mapping = Mapping::map(device, size);

  std::vector<std::byte> model(size);
  std::memset(mapping.data(), 0, size);
  for (const auto& [offset, length] : ranges(size)) {
    CAPTURE(offset, length);
    const auto bytes = pattern(length, offset, new_seed());
    std::memcpy(mapping.data() + offset, bytes.data(), length);
    std::memcpy(model.data() + offset, bytes.data(), length);
    CHECK_THAT(read_all(device, length, offset), HasBytes(bytes));
  }
  CHECK_THAT(read_all(device, size, 0), HasBytes(model));
}

// The kernel copies to or from a mapping of the very buffer it reads or
// writes, faulting its pages in on the way: a driver that held a lock
// across the copy that its fault path also takes would deadlock here. The
// copy runs in a child with a deadline, so a deadlock fails the test.
enum class Copy { read_fills, write_drains };

TEST_CASE("coherency: read fills and write drains a mapping of the same device", "[coherency]") {
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  const auto copy = GENERATE(Copy::read_fills, Copy::write_drains);
  CAPTURE(strategy, copy == Copy::read_fills ? "read" : "write");
  const auto seed = new_seed();
  const auto size = static_cast<std::size_t>(open_device(strategy).info().size);
  const auto half = size / 2;
  if (copy == Copy::read_fills) write_all(open_device(strategy), pattern(half, 0, seed), 0);

  // read() copies the lower half into the mapping's upper one; write() the
  // mapping's lower half into the buffer's upper one, which the mapping shows.
  CHECK(run_in_child([&] {
          const auto device = open_with(strategy);
          auto mapping = Mapping::map(device, size);
          const auto lower = mapping.bytes().first(half);
          const auto upper = mapping.bytes().subspan(half, half);
          if (copy == Copy::write_drains) fill_pattern(lower, 0, seed);
          const auto moved =
              copy == Copy::read_fills ? device.pread(upper, 0) : device.pwrite(lower, half);
          if (moved != half) return 1;
          return has_pattern(upper, 0, seed) ? 0 : 2;
        }) == ChildStatus::exited(0));
  CHECK_THAT(read_all(open_device(strategy), half, half), HasPattern(0, seed));
}

// The parent maps with the strategy under test; the child opens the device
// itself, maps it with the other strategy, and also uses pwrite()/pread().
TEST_CASE_METHOD(DeviceTest, "coherency: writes in one process are visible in another at once",
                 "[coherency]") {
  open(GENERATE(from_range(all_strategies)));
  const auto child_seed = new_seed();
  const auto parent_seed = new_seed();
  auto mapping = Mapping::map(device, 4 * page);

  const Notice child_wrote;
  const Notice parent_wrote;
  Child child{[&] {
    const auto own = open_with(other(strategy));
    auto view = Mapping::map(own, 4 * page);
    write_all(own, pattern(page + 10, 5, child_seed), 5);  // pwrite: parent checks its mapping
    fill_pattern(view.bytes().subspan(3 * page, page), 3 * page, child_seed);  // and a store
    child_wrote.post();
    if (!parent_wrote.wait()) return 1;
    if (!has_pattern(read_all(own, page, 2 * page), 2 * page, parent_seed)) return 2;
    return has_pattern(view.bytes().subspan(2 * page, page), 2 * page, parent_seed) ? 0 : 3;
  }};
  REQUIRE(child_wrote.wait());
  CHECK_THAT(mapping.bytes().subspan(5, page + 10), HasPattern(5, child_seed));
  CHECK_THAT(mapping.bytes().subspan(3 * page, page), HasPattern(3 * page, child_seed));
  fill_pattern(mapping.bytes().subspan(2 * page, page), 2 * page, parent_seed);
  parent_wrote.post();
  CHECK(child.wait() == ChildStatus::exited(0));
}

}  // namespace
