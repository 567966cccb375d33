// SPDX-License-Identifier: GPL-2.0
#include "read_vs_mmap.hpp"

#include <cstring>
#include <vector>

#include <mmapdemo/mmapdemo.hpp>

namespace mmapdemo::bench {

void add_one(std::span<std::byte> bytes) {
  for (std::size_t i = 0; i + sizeof(Int) <= bytes.size(); i += sizeof(Int)) {
    Int value;  // memcpy: the bytes hold no Int objects; this is a load and a store
    std::memcpy(&value, bytes.data() + i, sizeof value);
    ++value;
    std::memcpy(bytes.data() + i, &value, sizeof value);
  }
}

void add_one_by_read(const std::string& path, std::size_t bytes) {
  auto file = Device::open(path);
  std::vector<std::byte> buffer(bytes);  // a fresh one per run, as the article's program has
  file.read_all(buffer, 0);
  add_one(buffer);
  file.write_all(buffer, 0);
  file.close();
}

void add_one_by_mmap(const std::string& path, std::size_t bytes, std::optional<Strategy> strategy) {
  auto file = Device::open(path);
  if (strategy) file.set_strategy(*strategy);
  auto mapping = Mapping::map(file, bytes);
  add_one(mapping.bytes());
  mapping.unmap();
  file.close();
}

}  // namespace mmapdemo::bench
