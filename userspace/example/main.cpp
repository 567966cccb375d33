// SPDX-License-Identifier: GPL-2.0
// Maps /dev/mmapdemo, writes a greeting into the shared buffer, reads it back.
#include <cstring>
#include <iostream>

#include <mmapdemo/mmapdemo.hpp>

int main() try {
  const auto device = mmapdemo::Device::open();
  auto mapping = mmapdemo::Mapping::map(device, device.info().page_size);
  std::memcpy(mapping.data(), "hello", 6);
  std::cout << reinterpret_cast<const char*>(mapping.data()) << '\n';
  return 0;
} catch (const std::exception& e) {
  std::cerr << "example: " << e.what() << '\n';
  return 1;
}
