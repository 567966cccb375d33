// SPDX-License-Identifier: GPL-2.0
// A newly loaded module hands out zeroes, never stale kernel memory. The
// guests boot with init_on_alloc=0 page_poison=1, so a driver that forgot to
// zero its buffer would show poison (0xaa) or the 0xA5 left by the last load.
#include <vector>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};

// The whole buffer through read() and through a mapping of each strategy.
void check_filled(std::byte value) {
  const auto device = Device::open(path);
  const auto size = static_cast<std::size_t>(device.info().size);
  CHECK_THAT(read_all(device, size, 0), IsFilledWith(value));
  for (const auto strategy : all_strategies) {
    CAPTURE(strategy);
    const auto mapped = open_device(strategy);
    CHECK_THAT(Mapping::map(mapped, size, 0, Protection::read_only).bytes(), IsFilledWith(value));
  }
}

TEST_CASE("zeroed: a freshly loaded buffer reads zero", "[zeroed]") {
  auto module = Module::require();
  module.reload();  // earlier tests wrote to the buffer
  check_filled(std::byte{0});
}

TEST_CASE("zeroed: the buffer reads zero again after 0xA5 and a reload", "[zeroed]") {
  auto module = Module::require();
  {
    const auto device = Device::open(path);
    const auto size = static_cast<std::size_t>(device.info().size);
    write_all(device, std::vector<std::byte>(size, std::byte{0xA5}), 0);
  }
  check_filled(std::byte{0xA5});
  module.reload();
  check_filled(std::byte{0});
}

}  // namespace
