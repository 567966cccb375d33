// SPDX-License-Identifier: GPL-2.0
// What each strategy costs in faults, counted by the kernel (ru_minflt) and
// by the driver (sysfs faults, vma_lock_faults), and that every page still
// shows the right bytes:
//  - fault: one fault per page, read or written;
//  - faultaround: one read fault maps up to fault_around_bytes, a write
//    fault one page (the kernel faults around for reads only); from 6.7 on
//    its faults run under the per-VMA lock, fault's never do;
//  - prefault: no fault at all after mmap(), and .fault refills what
//    MADV_DONTNEED zapped;
//  - huge: one fault per 2 MiB chunk where the memory is in aligned chunks
//    and the kernel maps page frames with PMD entries (6.12), else one per
//    page (6.1, or the vmalloc backend).
#include <sys/mman.h>

#include <csignal>
#include <cstdint>
#include <span>
#include <string>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

constexpr std::size_t chunk = std::size_t{2} << 20;

// The driver's own counts; read them outside the measured loops, since
// reading sysfs may fault in pages of the heap.
struct DriverFaults {
  std::uint64_t all = 0;
  std::uint64_t vma_locked = 0;
};

DriverFaults driver_faults() {
  return {read_number(sysfs_path("faults")), read_number(sysfs_path("vma_lock_faults"))};
}

// Faults taken by f, per the kernel and per the driver.
struct Faults {
  std::uint64_t process = 0;
  DriverFaults driver;
};

template <class F>
Faults faults_of(F f) {
  const auto driver0 = driver_faults();
  const auto process0 = minor_faults();
  f();
  const auto process = minor_faults() - process0;
  const auto driver = driver_faults();
  return {process, {driver.all - driver0.all, driver.vma_locked - driver0.vma_locked}};
}

void read_every_page(std::span<const std::byte> bytes) {
  for (std::size_t at = 0; at < bytes.size(); at += page_size()) (void)touch(&bytes[at]);
}

// Stores without loading first (a load would make it a read fault): the
// byte the pattern already has there, so the contents stay as they were.
void write_every_page(std::span<std::byte> bytes, std::uint64_t position, std::uint32_t seed) {
  for (std::size_t at = 0; at < bytes.size(); at += page_size()) {
    poke(&bytes[at], pattern_byte(position + at, seed));
  }
}

// A fresh shared mapping of the whole buffer, which holds the pattern of
// seed, takes one fault per page written, and keeps its bytes.
void check_one_fault_per_page_written(const Device& device, std::uint32_t seed) {
  const auto size = static_cast<std::size_t>(device.info().size);
  auto writer = Mapping::map(device, size);
  const auto written = faults_of([&] { write_every_page(writer.bytes(), 0, seed); });
  CHECK(written.driver.all == size / page_size());
  CHECK(written.process == size / page_size());
  CHECK_THAT(read_all(device, size, 0), HasPattern(0, seed));
}

std::size_t fault_around_pages() {
  return static_cast<std::size_t>(read_number("/sys/kernel/debug/fault_around_bytes")) /
         page_size();
}

// 6.7 serves faults of shared file mappings under the per-VMA lock, if the
// mapping has .map_pages; without it the fault is retried under mmap_lock.
bool file_faults_under_vma_lock() { return kernel_at_least(6, 7); }

TEST_CASE("strategies: each one can be the module default and is chosen by name", "[strategies]") {
  auto module = Module::require();
  for (const auto strategy : all_strategies) {
    const auto name = std::string{to_string(strategy)};
    CAPTURE(name);
    module.unload();
    module.load_with("strategy=" + name);
    CHECK(read_text(sysfs_path("default_strategy")) == name + "\n");
    const auto device = Device::open();
    const auto info = device.info();
    CHECK(info.default_strategy == strategy);
    CHECK(info.strategy == strategy);
    // The default is a file's strategy from open() on: no ioctl needed.
    const auto mapping = Mapping::map(device, page_size());
    CHECK(vm_flags(mapping.data()).contains("pf") == !maps_pages(strategy));
  }
}

TEST_CASE("strategies: fault takes one fault per page read or written", "[strategies]") {
  require_device();
  const auto device = open_device(Strategy::fault);
  const auto size = static_cast<std::size_t>(device.info().size);
  const auto pages = size / page_size();
  const auto seed = new_seed();
  write_all(device, pattern(size, 0, seed), 0);

  const auto reader = Mapping::map(device, size, 0, Protection::read_only);
  const auto read = faults_of([&] { read_every_page(reader.bytes()); });
  CHECK(read.driver.all == pages);
  CHECK(read.process == pages);
  CHECK(read.driver.vma_locked == 0);
  CHECK_THAT(reader.bytes(), HasPattern(0, seed));

  check_one_fault_per_page_written(device, seed);
}

TEST_CASE("strategies: faultaround maps the pages around a read fault but not a write fault",
          "[strategies]") {
  require_device();
  const auto device = open_device(Strategy::faultaround);
  const auto size = static_cast<std::size_t>(device.info().size);
  const auto pages = size / page_size();
  const auto around = fault_around_pages();
  CAPTURE(pages, around);
  REQUIRE(around > 1);
  const auto seed = new_seed();
  write_all(device, pattern(size, 0, seed), 0);

  const auto reader = Mapping::map(device, size, 0, Protection::read_only);
  const auto read = faults_of([&] { read_every_page(reader.bytes()); });
  CAPTURE(read.process, read.driver.all, read.driver.vma_locked);
  // One fault per fault_around_bytes window the mapping overlaps (one more
  // if it does not start on a window), windows split where page tables
  // meet, and one more per page table: its first fault finds no table,
  // which only .fault may allocate (.map_pages must not sleep).
  const auto page_tables = size / chunk + 2;
  CHECK(read.driver.all >= pages / around);
  CHECK(read.driver.all <= pages / around + 1 + 2 * page_tables);
  CHECK(read.process == read.driver.all);
  CHECK(read.driver.vma_locked == (file_faults_under_vma_lock() ? read.driver.all : 0));
  CHECK_THAT(reader.bytes(), HasPattern(0, seed));

  check_one_fault_per_page_written(device, seed);
}

TEST_CASE("strategies: prefault needs no fault after mmap and refills what was zapped",
          "[strategies]") {
  require_device();
  const auto device = open_device(Strategy::prefault);
  const auto size = static_cast<std::size_t>(device.info().size);
  const auto pages = size / page_size();
  const auto seed = new_seed();
  write_all(device, pattern(size, 0, seed), 0);

  const auto remaps = read_number(sysfs_path("remaps"));
  auto mapping = Mapping::map(device, size);
  CHECK(read_number(sysfs_path("remaps")) == remaps + 1);
  const auto first = faults_of([&] {
    read_every_page(mapping.bytes());
    write_every_page(mapping.bytes(), 0, seed);
  });
  CHECK(first.driver.all == 0);
  CHECK(first.process == 0);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));

  REQUIRE(::madvise(mapping.data(), size, MADV_DONTNEED) == 0);
  const auto again = faults_of([&] { read_every_page(mapping.bytes()); });
  CHECK(again.driver.all == pages);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
}

// Faults the huge strategy takes to touch every page of a mapping at data,
// of length bytes from offset: one per whole 2 MiB block of addresses (the
// driver places mappings so that address and offset agree modulo 2 MiB),
// one per page elsewhere.
std::uint64_t huge_faults(const std::byte* data, std::size_t length, bool pmd_entries) {
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const auto end = start + length;
  std::uint64_t faults = 0;
  for (auto at = start; at < end; ++faults) {
    const bool whole_block = pmd_entries && at % chunk == 0 && at + chunk <= end;
    at += whole_block ? chunk : page_size();
  }
  return faults;
}

TEST_CASE("strategies: huge maps a 2 MiB chunk with one fault where the kernel can",
          "[strategies]") {
  struct Setup {
    const char* params;
    bool chunks;  // the memory is in 2 MiB aligned, physically contiguous chunks
  };
  const auto setup = GENERATE(Setup{"backend=chunked size=8388608", true},
                              Setup{"backend=kmalloc size=4194304", true},
                              Setup{"backend=vmalloc size=8388608", false});
  CAPTURE(setup.params);
  auto module = Module::require();
  module.unload();
  module.load_with(setup.params);
  // 6.12 maps page frames with PMD entries; 6.1 never asks the driver.
  const bool pmd_entries = setup.chunks && kernel_at_least(6, 12);
  CAPTURE(pmd_entries);

  const auto device = open_device(Strategy::huge);
  const auto size = static_cast<std::size_t>(device.info().size);
  const auto seed = new_seed();
  write_all(device, pattern(size, 0, seed), 0);

  SECTION("the whole buffer") {
    const auto mapping = Mapping::map(device, size, 0, Protection::read_only);
    CHECK(reinterpret_cast<std::uintptr_t>(mapping.data()) % chunk == 0);
    const auto expected = huge_faults(mapping.data(), size, pmd_entries);
    const auto read = faults_of([&] { read_every_page(mapping.bytes()); });
    CHECK(read.driver.all == expected);
    CHECK(read.process == expected);
    CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
  }
  SECTION("from an offset that is not a multiple of 2 MiB") {
    const auto offset = page_size();
    const auto length = size - offset;
    const auto mapping = Mapping::map(device, length, offset, Protection::read_only);
    CHECK(reinterpret_cast<std::uintptr_t>(mapping.data()) % chunk == offset);
    const auto expected = huge_faults(mapping.data(), length, pmd_entries);
    const auto read = faults_of([&] { read_every_page(mapping.bytes()); });
    CHECK(read.driver.all == expected);
    CHECK_THAT(mapping.bytes(), HasPattern(offset, seed));
  }
  SECTION("moved by mremap to an address that is not 2 MiB aligned") {
    auto mapping = Region::map(device, size, 0);
    read_every_page(mapping.bytes());  // huge entries first, where possible
    auto target = Region::reserve(size + chunk);
    std::byte* const unaligned = target.data() + page_size();
    REQUIRE(::mremap(mapping.data(), size, size, MREMAP_MAYMOVE | MREMAP_FIXED, unaligned) ==
            unaligned);
    (void)mapping.release();  // the move unmapped it; target owns the range now
    CHECK_THAT((std::span<const std::byte>{unaligned, size}), HasPattern(0, seed));
    const auto seed2 = new_seed();
    fill_pattern({unaligned, size}, 0, seed2);
    CHECK_THAT(read_all(device, size, 0), HasPattern(0, seed2));
  }
  SECTION("written, then shrunk to the middle of a chunk") {
    auto mapping = Mapping::map(device, size);
    const auto seed2 = new_seed();
    fill_pattern(mapping.bytes(), 0, seed2);
    CHECK_THAT(read_all(device, size, 0), HasPattern(0, seed2));

    const auto smaller = size * 3 / 8;
    device.resize(smaller);
    CHECK_THAT(mapping.bytes().first(smaller), HasPattern(0, seed2));
    CHECK(terminating_signal([&] { (void)touch(mapping.data() + smaller); }) == SIGBUS);
    CHECK(terminating_signal([&] { (void)touch(mapping.data() + size - 1); }) == SIGBUS);
  }
}

}  // namespace
