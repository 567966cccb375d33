// SPDX-License-Identifier: GPL-2.0
// No store is lost across a resize. A resize unmaps every mapping under the
// buffer's lock before it copies, and a fault that found a page before the
// resize took that lock holds the page locked until its entry is in, which
// the resize waits for: so a store lands either in the old memory before the
// copy, or in the new memory. Writers of every strategy store once into
// slots of their own, taking fresh faults all the while, as other processes
// resize the buffer up and down above the slots; read() then finds every
// value stored.
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;
using clock = std::chrono::steady_clock;

constexpr std::size_t writers = all_strategies.size();
constexpr std::size_t resizers = 2;

// Shared by the test and its child processes (an anonymous MAP_SHARED page).
struct Shared {
  std::atomic<bool> stop{false};
  std::array<std::atomic<std::uint64_t>, writers> stored{};  // slots done, in order
  std::array<std::atomic<std::uint64_t>, writers> fresh{};   // stores after a new mmap()
  std::atomic<std::uint64_t> resizes{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

Region map_shared_block() {
  void* const address =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) throw std::system_error(last_error(), "mmap shared block");
  return Region{address, sizeof(Shared)};
}

class SharedBlock {
 public:
  SharedBlock()
      : region_{map_shared_block()},
        shared_{std::construct_at(reinterpret_cast<Shared*>(region_.data()))} {}
  [[nodiscard]] Shared& get() const noexcept { return *shared_; }

 private:
  Region region_;
  Shared* shared_;
};

// Writer w's k-th slot is word k * writers + w: neighbours in a page belong
// to other writers, so every page sees stores of every strategy.
std::size_t slot_word(std::size_t writer, std::uint64_t k) { return k * writers + writer; }

// A value that names its slot and the run; never zero, which unstored
// slots hold.
std::uint64_t slot_value(std::uint32_t seed, std::size_t word) {
  return (std::uint64_t{seed | 1U} << 32) | (word + 1);
}

void store(std::byte* address, std::uint64_t value) {
  *reinterpret_cast<volatile std::uint64_t*>(address) = value;
}

// One writer: every store comes after a fresh fault. Page-based mappings
// drop the page first (MADV_DONTNEED); a faultaround writer reads it back
// in first, through .map_pages. Every writer also maps anew every few
// stores: remap and prefault fill such a mapping in mmap() itself, which a
// resize must not miss (docs/resizing.md).
int write_slots(Strategy strategy, std::size_t writer, std::size_t low, std::uint32_t seed,
                Shared& shared) {
  const auto page = page_size();
  const auto device = open_with(strategy);
  auto lasting = Mapping::map(device, low);
  for (std::uint64_t k = 0; !shared.stop.load(std::memory_order_relaxed); ++k) {
    const auto word = slot_word(writer, k);
    const auto offset = word * sizeof(std::uint64_t);
    if (offset + sizeof(std::uint64_t) > low) break;
    const auto value = slot_value(seed, word);
    const auto page_offset = offset / page * page;
    if (k % 4 == 0) {
      auto fresh = Mapping::map(device, page, page_offset);
      store(fresh.data() + (offset - page_offset), value);
      shared.fresh.at(writer).fetch_add(1, std::memory_order_relaxed);
    } else {
      std::byte* const in_page = lasting.data() + page_offset;
      if (maps_pages(strategy)) {
        if (::madvise(in_page, page, MADV_DONTNEED) != 0) return 1;
        if (strategy == Strategy::faultaround) static_cast<void>(touch(in_page));
      }
      store(lasting.data() + offset, value);
    }
    shared.stored.at(writer).store(k + 1, std::memory_order_release);
  }
  return 0;
}

// One resizer: sizes from just above the slots to the original size, in
// random order, so that the buffer moves again and again under the writers.
int resize_loop(std::size_t low, std::size_t high, std::uint32_t seed, Shared& shared) {
  const auto page = page_size();
  const auto device = open_with(Strategy::fault);
  std::mt19937 random{seed};
  std::uniform_int_distribution<std::size_t> pages{1, (high - low) / page};
  while (!shared.stop.load(std::memory_order_relaxed)) {
    device.resize(low + pages(random) * page);
    shared.resizes.fetch_add(1, std::memory_order_relaxed);
  }
  return 0;
}

// A few seconds per backend: long enough for thousands of fresh faults and
// hundreds of resizes on every strategy, which a window of microseconds in
// the unmap-and-copy order would not survive.
constexpr auto run_time = 3s;
constexpr std::uint64_t min_resizes = 100;
constexpr std::uint64_t min_stores = 200;

TEST_CASE("stores: every store through a fresh fault survives resizes above it on every strategy",
          "[stores]") {
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto high = restore.original();
  const auto low = high / 4;
  REQUIRE(low >= 2 * page);
  const auto device = open_device(Strategy::fault);
  write_all(device, std::vector<std::byte>(low), 0);

  const SharedBlock block;
  Shared& shared = block.get();
  const auto seed = new_seed();
  std::vector<std::unique_ptr<Child>> children;
  for (std::size_t w = 0; w < writers; ++w) {
    const auto strategy = all_strategies.at(w);
    children.push_back(std::make_unique<Child>(
        [=, &shared] { return write_slots(strategy, w, low, seed, shared); }));
  }
  for (std::uint32_t r = 0; r < resizers; ++r) {
    children.push_back(std::make_unique<Child>(
        [=, &shared] { return resize_loop(low, high, seed + 1 + r, shared); }));
  }

  const auto stores_done = [&] {
    for (const auto& stored : shared.stored) {
      if (stored.load() < min_stores) return false;
    }
    return true;
  };
  const auto start = clock::now();
  while (clock::now() - start < run_time ||
         ((shared.resizes < min_resizes || !stores_done()) && clock::now() - start < 60s)) {
    std::this_thread::sleep_for(50ms);
  }
  shared.stop = true;
  for (auto& child : children) CHECK(child->wait() == ChildStatus::exited(0));

  const auto bytes = read_all(device, low, 0);
  std::vector<std::string> lost;
  std::uint64_t checked = 0;
  for (std::size_t w = 0; w < writers; ++w) {
    const auto stored = shared.stored.at(w).load(std::memory_order_acquire);
    for (std::uint64_t k = 0; k < stored; ++k) {
      const auto word = slot_word(w, k);
      std::uint64_t got = 0;
      std::memcpy(&got, bytes.data() + word * sizeof got, sizeof got);
      ++checked;
      if (got != slot_value(seed, word) && lost.size() < 8) {
        lost.push_back(std::string{to_string(all_strategies.at(w))} + " slot " + std::to_string(k) +
                       " (offset " + std::to_string(word * sizeof got) + ") holds " +
                       std::to_string(got));
      }
    }
    INFO(to_string(all_strategies.at(w))
         << ": " << stored << " stores, " << shared.fresh.at(w).load() << " after a new mmap()");
    CHECK(stored >= min_stores);
  }
  std::printf("note: %llu stores checked across %llu resizes\n",
              static_cast<unsigned long long>(checked),
              static_cast<unsigned long long>(shared.resizes.load()));
  CHECK(shared.resizes >= min_resizes);
  CHECK(lost == std::vector<std::string>{});
}

}  // namespace
