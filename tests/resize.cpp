// SPDX-License-Identifier: GPL-2.0
// MMAPDEMO_IOC_RESIZE gives the device the semantics of a file under
// ftruncate(): grown pages read as zero, data below the end stays (also when
// the kmalloc backend moves it to new memory), every mapping in every
// process raises SIGBUS past a smaller end, private copies included, and
// mappings of the remap strategy refill after a grow. read(), write() and
// lseek() follow the size, the doorbell rings, and bad sizes fail with the
// documented errnos. Each test puts the size back when it ends.
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};

struct Kind {
  Strategy strategy;
  Sharing sharing;
};

// Every way a mapping can be made: PFN-based strategies are shared only.
const std::vector<Kind> every_kind = [] {
  std::vector<Kind> kinds;
  for (const auto strategy : all_strategies) {
    kinds.push_back({strategy, Sharing::shared});
    if (maps_pages(strategy)) kinds.push_back({strategy, Sharing::private_copy});
  }
  return kinds;
}();

std::string describe(const Kind& kind) {
  return std::string{to_string(kind.strategy)} +
         (kind.sharing == Sharing::shared ? " MAP_SHARED" : " MAP_PRIVATE");
}

TEST_CASE_METHOD(DeviceTest, "resize: growing keeps the data and zeroes the new pages",
                 "[resize]") {
  open(GENERATE(from_range(all_strategies)));
  const RestoreSize restore;
  const auto size = restore.original();

  auto mapping = Mapping::map(device, size);
  fill_pattern(mapping.bytes(), 0, seed);
  // Shrink by two pages, then grow by four: the two pages that had data
  // must come back zeroed, like the two that never existed.
  device.resize(size - 2 * page);
  device.resize(size + 2 * page);
  REQUIRE(device.info().size == size + 2 * page);

  // The old mapping sees its data below the shrunken end, zeroes above.
  CHECK_THAT(mapping.bytes().first(size - 2 * page), HasPattern(0, seed));
  CHECK_THAT(mapping.bytes().subspan(size - 2 * page), IsFilledWith(std::byte{0}));
  // A new mapping may use the new size; read() agrees.
  auto grown = Mapping::map(device, size + 2 * page);
  CHECK_THAT(grown.bytes().first(size - 2 * page), HasPattern(0, seed));
  CHECK_THAT(grown.bytes().subspan(size - 2 * page), IsFilledWith(std::byte{0}));
  CHECK_THAT(read_all(device, size + 2 * page, 0), HasBytes(grown.bytes()));

  // Stores through either mapping reach the one buffer.
  poke(mapping.data() + size - 1, std::byte{0x5a});
  CHECK(grown.bytes()[size - 1] == std::byte{0x5a});
  poke(grown.data() + size + page, std::byte{0xa5});
  CHECK(read_all(device, 1, size + page).at(0) == std::byte{0xa5});
}

TEST_CASE("resize: the moved buffer keeps every byte whatever the backend", "[resize]") {
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto size = restore.original();
  const auto seed = new_seed();
  const auto device = open_device(Strategy::fault);

  write_all(device, pattern(size, 0, seed), 0);
  for (const auto new_size : {size * 2, size + page, size / 2, size}) {
    CAPTURE(new_size);
    device.resize(new_size);
    REQUIRE(device.info().size == new_size);
    const auto kept = std::min(size / 2, new_size);
    CHECK_THAT(read_all(device, kept, 0), HasPattern(0, seed));
  }
}

// In a second process with its own file and mapping: "every process".
TEST_CASE("resize: shrinking makes every mapping raise SIGBUS past the new end", "[resize]") {
  require_device();
  const auto kind = GENERATE(from_range(every_kind));
  CAPTURE(describe(kind));
  const RestoreSize restore;
  const auto page = page_size();
  const auto size = restore.original();
  const auto new_size = size / 2;
  const auto seed = new_seed();
  const auto device = open_device(kind.strategy);
  write_all(device, pattern(size, 0, seed), 0);

  auto mapping = Mapping::map(device, size, 0, Protection::read_write, kind.sharing);
  // Every page in: shared pages mapped, private ones copied (the last one
  // past the new end), so the shrink has something to take away.
  for (std::size_t offset = 0; offset < size; offset += page) touch(mapping.data() + offset);
  if (kind.sharing == Sharing::private_copy) poke(mapping.data() + size - page, std::byte{1});

  const Notice mapped;
  const Notice shrunk;
  Child other{[&] {
    const auto own = open_with(kind.strategy);
    auto own_mapping = Mapping::map(own, size, 0, Protection::read_write, kind.sharing);
    for (std::size_t offset = 0; offset < size; offset += page) touch(own_mapping.data() + offset);
    mapped.post();
    if (!shrunk.wait()) return 1;
    if (!has_pattern(own_mapping.bytes().first(new_size), 0, seed)) return 2;
    touch(own_mapping.data() + new_size);  // SIGBUS ends the child here
    return 3;
  }};
  REQUIRE(mapped.wait());
  device.resize(new_size);
  shrunk.post();
  CHECK(other.wait() == ChildStatus::killed(SIGBUS));

  CHECK_THAT(mapping.bytes().first(new_size), HasPattern(0, seed));
  for (const auto offset : {new_size, new_size + page, size - page}) {
    CAPTURE(offset);
    CHECK(terminating_signal([&] { touch(mapping.data() + offset); }) == SIGBUS);
  }
  // And a new mapping may not reach past the end any more.
  CHECK(mmap_error(size, PROT_READ, MAP_SHARED, device.fd()) == std::errc::invalid_argument);
  CHECK(Mapping::map(device, new_size).size() == new_size);
}

// All opens share one address_space, whichever node they came through: a
// second node for the device (as mknod makes one) is unmapped all the same.
TEST_CASE("resize: a mapping made through another device node raises SIGBUS too", "[resize]") {
  require_root();
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  const RestoreSize restore;
  const auto size = restore.original();
  const auto numbers = read_text(sysfs_path("dev"));  // "10:123\n"
  const auto colon = numbers.find(':');
  REQUIRE(colon != std::string::npos);
  const auto major = static_cast<unsigned>(std::stoul(numbers.substr(0, colon)));
  const auto minor = static_cast<unsigned>(std::stoul(numbers.substr(colon + 1)));
  const std::string node = "/tmp/mmapdemo-second-node";
  ::unlink(node.c_str());
  REQUIRE(::mknod(node.c_str(), S_IFCHR | 0600, makedev(major, minor)) == 0);

  auto second = Device::open(node);
  ::unlink(node.c_str());
  second.set_strategy(strategy);
  const auto mapping = Mapping::map(second, size);
  touch(mapping.data() + size - 1);
  open_device(strategy).resize(size / 2);
  CHECK(terminating_signal([&] { touch(mapping.data() + size - 1); }) == SIGBUS);
  CHECK(terminating_signal([&] { touch(mapping.data() + size / 2 - 1); }) == 0);
}

TEST_CASE("resize: after a shrink and a grow the mapping works again with zeroes", "[resize]") {
  require_device();
  const auto kind = GENERATE(from_range(every_kind));
  CAPTURE(describe(kind));
  const RestoreSize restore;
  const auto page = page_size();
  const auto size = restore.original();
  const auto device = open_device(kind.strategy);
  auto mapping = Mapping::map(device, size, 0, Protection::read_write, kind.sharing);
  std::fill(mapping.bytes().begin(), mapping.bytes().end(), std::byte{0x77});
  write_all(device, std::vector<std::byte>(size, std::byte{0x77}), 0);

  device.resize(page);
  CHECK(terminating_signal([&] { touch(mapping.data() + page); }) == SIGBUS);
  device.resize(size);

  // remap: the zapped range refills through .fault; fault: new pages.
  CHECK_THAT(mapping.bytes().first(page), IsFilledWith(std::byte{0x77}));
  CHECK_THAT(mapping.bytes().subspan(page), IsFilledWith(std::byte{0}));
  poke(mapping.data() + size - 1, std::byte{0x42});
  const auto expected = kind.sharing == Sharing::shared ? std::byte{0x42} : std::byte{0};
  CHECK(read_all(device, 1, size - 1).at(0) == expected);
}

TEST_CASE("resize: pread pwrite and lseek follow the size", "[resize]") {
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto size = restore.original();
  const auto device = open_device(Strategy::fault);
  const std::vector<std::byte> data(16, std::byte{0x3c});

  device.resize(size + page);
  CHECK(::lseek(device.fd(), 0, SEEK_END) == static_cast<off_t>(size + page));
  CHECK(device.pwrite(data, size + page - 8) == 8);  // short: crosses the new end
  CHECK_THAT(read_all(device, 8, size + page - 8), IsFilledWith(std::byte{0x3c}));

  device.resize(size - page);
  CHECK(::lseek(device.fd(), 0, SEEK_END) == static_cast<off_t>(size - page));
  CHECK(sys_error(::lseek(device.fd(), static_cast<off_t>(size), SEEK_SET)) ==
        std::errc::invalid_argument);
  std::vector<std::byte> out(16);
  CHECK(device.pread(out, size - page) == 0);
  std::error_code ec;
  CHECK(device.pwrite(data, size - page, ec) == 0);
  CHECK(ec == std::errc::no_space_on_device);
}

TEST_CASE("resize: rings the doorbell", "[resize]") {
  require_device();
  const RestoreSize restore;
  const auto watcher = open_device(Strategy::fault, O_RDONLY);
  const auto device = open_device(Strategy::fault);
  CHECK(watcher.ack() == std::nullopt);
  device.resize(restore.original() + page_size());
  CHECK(watcher.wait_ring(5s).has_value());
  // A failed resize does not ring.
  std::error_code ec;
  device.resize(0, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(watcher.ack() == std::nullopt);
}

TEST_CASE("resize: bad sizes fail with the documented errnos and change nothing", "[resize]") {
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto size = restore.original();
  const auto device = open_device(Strategy::fault);
  const auto read_only = open_device(Strategy::fault, O_RDONLY);

  struct Case {
    const char* what;
    const Device& device;
    std::uint64_t size;
    std::errc expected;
  };
  const std::vector<Case> cases{
      {"size 0", device, 0, std::errc::invalid_argument},
      {"2^50 bytes, more than either backend provides", device, std::uint64_t{1} << 50,
       std::errc::file_too_large},
      {"2^64 - 1 bytes (would wrap when rounded to pages)", device, ~std::uint64_t{0},
       std::errc::file_too_large},
      {"a file opened read-only", read_only, size + page, std::errc::bad_file_descriptor},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    std::error_code ec;
    c.device.resize(c.size, ec);
    CHECK(ec == c.expected);
    CHECK(device.info().size == size);
  }
  CHECK(sys_error(::ioctl(device.fd(), MMAPDEMO_IOC_RESIZE, nullptr)) == std::errc::bad_address);
  if (device.info().backend == Backend::kmalloc) {
    std::error_code ec;
    device.resize(8 << 20, ec);  // past PAGE_SIZE << MAX_PAGE_ORDER
    CHECK(ec == std::errc::file_too_large);
  }

  // Not a whole number of pages: rounded up.
  device.resize(size + 1);
  CHECK(device.info().size == size + page);
  CHECK(read_number(sysfs_path("size")) == size + page);
}

// ---- the race ---------------------------------------------------------------

using clock = std::chrono::steady_clock;

// What the racing threads saw; checked by the test's own thread (Catch2
// assertions are not for other threads).
struct RaceResults {
  std::atomic<std::uint64_t> resizes{0};
  std::atomic<std::uint64_t> stores{0};
  std::atomic<std::uint64_t> lost_stores{0};
  std::atomic<std::uint64_t> maps{0};
  std::atomic<std::uint64_t> bad_maps{0};
  std::atomic<std::uint64_t> stale_filled{0};   // remap, prefault
  std::atomic<std::uint64_t> stale_faulted{0};  // fault
  std::atomic<std::uint64_t> children{0};
  std::atomic<std::uint64_t> children_bused{0};
  std::atomic<std::uint64_t> children_bad{0};
  std::atomic<int> bad_status_kind{0};
  std::atomic<int> bad_status_value{0};
  std::atomic<bool> error{false};
  std::atomic<bool> stop{false};
};

// Stores a counter into its own word of a mapping of [0, low) and reads it
// back: a store that a resize moved or unmapped under it must never be lost.
void store_loop(const Device& device, std::size_t low, std::size_t word, RaceResults& results) {
  auto mapping = Mapping::map(device, low);
  auto* const slot = reinterpret_cast<volatile std::uint64_t*>(mapping.data() + word);
  for (std::uint64_t n = 1; !results.stop; ++n) {
    *slot = n;
    if (*slot != n) results.lost_stores.fetch_add(1);
    results.stores.fetch_add(1);
  }
}

// mmap() and munmap() in a loop, racing the resize that unmaps what mmap()
// has just filled in; the constant page must read as written every time,
// and a store through the new mapping must reach the buffer that pread()
// reads: a mapping left on memory a resize replaced loses it (stale).
void map_loop(const Device& device, std::size_t low, std::size_t word, std::byte constant,
              std::atomic<std::uint64_t>& stale, RaceResults& results) {
  const auto page = page_size();
  for (std::uint64_t n = 1; !results.stop; ++n) {
    auto mapping = Mapping::map(device, low);
    if (!diff_fill(mapping.bytes().subspan(low - page), constant).empty()) {
      results.bad_maps.fetch_add(1);
    }
    *reinterpret_cast<volatile std::uint64_t*>(mapping.data() + word) = n;
    std::uint64_t seen = 0;
    const auto got = device.pread(std::as_writable_bytes(std::span{&seen, 1}), word);
    if (got != sizeof seen || seen != n) stale.fetch_add(1);
    results.maps.fetch_add(1);
  }
}

// Short-lived processes mapping the whole of the largest size and touching
// the part that comes and goes: each must either finish or die of SIGBUS,
// and may only ever see zeroes or the markers the processes store.
void child_loop(std::size_t low, std::size_t high, RaceResults& results) {
  const auto page = page_size();
  std::size_t round = 0;
  for (std::uint8_t marker = 1; !results.stop; marker = marker % 3 + 1) {
    const auto strategy = all_strategies.at(round++ % all_strategies.size());
    const auto status = run_in_child(
        [&] {
          const auto device = open_with(strategy);
          std::error_code ec;
          auto mapping = Mapping::map(device, high, 0, Protection::read_write, Sharing::shared, ec);
          if (ec) return 0;  // the buffer is small right now
          const auto stop = clock::now() + 100ms;
          while (clock::now() < stop) {
            for (auto offset = low; offset < high; offset += page) {
              const auto seen = std::to_integer<unsigned>(touch(mapping.data() + offset));
              if (seen > 3) return 10;
              poke(mapping.data() + offset, std::byte{marker});
            }
          }
          return 0;
        },
        30s);
    results.children.fetch_add(1);
    if (status == ChildStatus::killed(SIGBUS)) {
      results.children_bused.fetch_add(1);
    } else if (status != ChildStatus::exited(0)) {
      results.children_bad.fetch_add(1);
      results.bad_status_kind = static_cast<int>(status.kind);
      results.bad_status_value = status.value;
    }
  }
}

constexpr std::uint64_t min_resizes = 40;
constexpr std::uint64_t min_maps = 20;
constexpr std::uint64_t min_children = 4;

TEST_CASE("resize: faulting threads and processes race a resizing loop", "[resize]") {
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto high = restore.original();
  const auto low = high / 4;
  const auto constant = std::byte{0x5c};
  const auto remap = open_device(Strategy::remap);
  const auto fault = open_device(Strategy::fault);
  const auto prefault = open_device(Strategy::prefault);
  write_all(fault, std::vector<std::byte>(page, constant), low - page);

  RaceResults results;
  std::vector<std::thread> threads;
  const auto guarded = [&](auto body) {
    return [&results, body] {
      try {
        body();
      } catch (...) {
        results.error = true;
      }
    };
  };
  threads.emplace_back(guarded([&] {
    std::mt19937 random{new_seed()};
    std::uniform_int_distribution<std::size_t> pages{0, (high - low) / page};
    for (bool shrink = true; !results.stop; shrink = !shrink) {
      fault.resize(shrink ? low + pages(random) * page : high);
      results.resizes.fetch_add(1);
    }
  }));
  threads.emplace_back(guarded([&] { store_loop(remap, low, 8, results); }));
  threads.emplace_back(guarded([&] { store_loop(fault, low, page + 8, results); }));
  threads.emplace_back(
      guarded([&] { map_loop(remap, low, 2 * page, constant, results.stale_filled, results); }));
  threads.emplace_back(guarded(
      [&] { map_loop(fault, low, 2 * page + 8, constant, results.stale_faulted, results); }));
  threads.emplace_back(guarded(
      [&] { map_loop(prefault, low, 2 * page + 16, constant, results.stale_filled, results); }));
  threads.emplace_back(guarded([&] { child_loop(low, high, results); }));

  // At least 5 s, and until every kind of racer has had its turns: under a
  // debug kernel that takes much longer.
  const auto start = clock::now();
  const auto enough = [&] {
    return results.resizes >= min_resizes && results.maps >= min_maps &&
           results.children >= min_children;
  };
  while (clock::now() - start < 5s || (!enough() && clock::now() - start < 120s)) {
    std::this_thread::sleep_for(100ms);
  }
  results.stop = true;
  for (auto& thread : threads) thread.join();

  INFO(results.resizes << " resizes, " << results.stores << " stores, " << results.maps
                       << " mmap() calls, " << results.children << " processes ("
                       << results.children_bused << " ended by SIGBUS)");
  CHECK_FALSE(results.error);
  CHECK(results.resizes >= min_resizes);
  CHECK(results.maps >= min_maps);
  CHECK(results.lost_stores == 0);
  CHECK(results.bad_maps == 0);
  CHECK(results.stale_faulted == 0);
  // A remap or prefault mmap() that overlaps a resize must not keep the
  // old memory (docs/resizing.md): through .mmap the resize waits for it
  // to be linked, through .mmap_prepare vm_ops->mapped unmaps it.
  INFO(results.stale_filled << " remap and prefault mappings were stale");
  CHECK(results.stale_filled == 0);
  CHECK(results.children >= min_children);
  CHECK(results.children_bad == 0);
  if (results.children_bad != 0) {
    const ChildStatus last{static_cast<ChildStatus::Kind>(results.bad_status_kind.load()),
                           results.bad_status_value.load()};
    CHECK(last == ChildStatus::exited(0));
  }
}

}  // namespace
