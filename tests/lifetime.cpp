// SPDX-License-Identifier: GPL-2.0
// The buffer lives as long as the module: it survives munmap() and close(),
// a mapping outlives the file it was made through, and the module cannot be
// removed while any file or mapping still reaches the buffer.
#include <array>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};

TEST_CASE_METHOD(DeviceTest, "lifetime: data survives munmap and a new mmap", "[lifetime]") {
  open(GENERATE(from_range(all_strategies)));

  auto mapping = Mapping::map(device, 4 * page);
  fill_pattern(mapping.bytes(), 0, seed);
  mapping.unmap();

  const auto again = Mapping::map(device, 4 * page);
  CHECK_THAT(again.bytes(), HasPattern(0, seed));
  const auto part = Mapping::map(device, 2 * page, 2 * page);
  CHECK_THAT(part.bytes(), HasPattern(2 * page, seed));
}

TEST_CASE_METHOD(DeviceTest, "lifetime: a mapping stays usable after close of its file",
                 "[lifetime]") {
  open(GENERATE(from_range(all_strategies)));
  const auto seed2 = new_seed();

  auto mapping = Mapping::map(device, 2 * page);
  device.close();

  // Stores after close() reach the buffer: another file reads and maps them.
  fill_pattern(mapping.bytes().first(page), 0, seed);
  const auto other_file = open_device(other(strategy));
  CHECK_THAT(read_all(other_file, page, 0), HasPattern(0, seed));
  auto other_mapping = Mapping::map(other_file, 2 * page);
  CHECK_THAT(other_mapping.bytes().first(page), HasPattern(0, seed));
  // And the closed file's mapping still sees the others' stores.
  fill_pattern(other_mapping.bytes().subspan(page), page, seed2);
  CHECK_THAT(mapping.bytes().subspan(page), HasPattern(page, seed2));
}

TEST_CASE("lifetime: rmmod is refused while the device is open", "[lifetime]") {
  auto module = Module::require();
  {
    const auto device = Device::open(path);
    CHECK(module.try_unload() == std::errc::resource_unavailable_try_again);
    CHECK(device.info().size > 0);
  }
  REQUIRE(module.try_unload() == no_error);
  module.load();
  CHECK(Device::open(path).info().size > 0);
}

// A mapping holds its file, and the file the module: after close() the
// mapping alone must keep the buffer (and so the module) alive.
TEST_CASE("lifetime: rmmod is refused while a mapping outlives its file", "[lifetime]") {
  auto module = Module::require();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  const auto page = page_size();
  const auto seed = new_seed();

  auto device = open_device(strategy);
  auto mapping = Mapping::map(device, 2 * page);
  fill_pattern(mapping.bytes(), 0, seed);
  CHECK(module.try_unload() == std::errc::resource_unavailable_try_again);

  device.close();
  CHECK(module.try_unload() == std::errc::resource_unavailable_try_again);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));  // still the buffer

  mapping.unmap();
  REQUIRE(module.try_unload() == no_error);
  module.load();
  const auto reloaded = open_device(strategy);
  CHECK(reloaded.info().strategy == strategy);
  CHECK(Mapping::map(reloaded, page).size() == page);
}

}  // namespace

// Every bad parameter: insmod fails with EINVAL and says why in exactly one
// kernel log line, and nothing is left registered.
TEST_CASE("lifetime: bad module parameters fail insmod with EINVAL and one message", "[lifetime]") {
  auto module = Module::require();
  module.unload();
  const std::array cases{
      std::pair{"backend=bogus", "backend=bogus"},
      std::pair{"strategy=bogus", "strategy=bogus"},
      std::pair{"size=0", "size=0"},
      // Past the largest contiguous allocation (4 MiB on x86-64).
      std::pair{"backend=kmalloc size=8388608", "size=8388608"},
      // Past any guest's memory.
      std::pair{"backend=vmalloc size=1099511627776", "size=1099511627776"},
  };
  for (const auto& [params, named] : cases) {
    CAPTURE(params);
    KernelLog log;
    CHECK(module.try_load(params) == std::errc::invalid_argument);
    std::vector<std::string> ours;
    for (auto& message : log.new_messages()) {
      if (message.starts_with("mmapdemo: ")) ours.push_back(std::move(message));
    }
    REQUIRE(ours.size() == 1);
    CHECK(ours.front().find(named) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(path));
  }
}
