// SPDX-License-Identifier: GPL-2.0
// What the driver shows of itself: the sysfs attributes of the misc device
// (/sys/class/misc/mmapdemo/), read before and after a known sequence of
// mmap(), faults, a resize and munmap(), and the tracepoints mmapdemo:mmap,
// mmapdemo:fault and mmapdemo:resize as tracefs prints them.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::vector<std::string> counters{"mappings", "faults", "remaps", "resizes"};

std::map<std::string, std::uint64_t> read_counters() {
  std::map<std::string, std::uint64_t> values;
  for (const auto& name : counters) values[name] = read_number(sysfs_path(name));
  return values;
}

// How much each counter grew since before.
std::map<std::string, std::int64_t> growth(const std::map<std::string, std::uint64_t>& before) {
  std::map<std::string, std::int64_t> grown;
  for (const auto& [name, value] : read_counters()) {
    grown[name] = static_cast<std::int64_t>(value - before.at(name));
  }
  return grown;
}

std::map<std::string, std::int64_t> expect(std::int64_t mappings, std::int64_t faults,
                                           std::int64_t remaps, std::int64_t resizes) {
  return {{"mappings", mappings}, {"faults", faults}, {"remaps", remaps}, {"resizes", resizes}};
}

void touch_pages(std::span<std::byte> bytes) {
  for (std::size_t offset = 0; offset < bytes.size(); offset += page_size()) {
    poke(bytes.data() + offset, std::byte{1});
  }
}

std::string hex(const void* address) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%lx", reinterpret_cast<unsigned long>(address));
  return text;
}

TEST_CASE("observability: sysfs attributes follow mmap faults resize and munmap",
          "[observability]") {
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto remap = open_device(Strategy::remap);
  const auto fault = open_device(Strategy::fault);
  const auto info = fault.info();

  CHECK(read_number(sysfs_path("size")) == info.size);
  CHECK(read_text(sysfs_path("backend")) == std::string{to_string(info.backend)} + "\n");
  CHECK(read_text(sysfs_path("default_strategy")) ==
        std::string{to_string(info.default_strategy)} + "\n");
  const auto before = read_counters();
  CHECK(before.at("mappings") == 0);  // nothing else maps the device now

  // remap fills everything at mmap() time: no faults.
  auto remapped = Mapping::map(remap, 4 * page);
  touch_pages(remapped.bytes());
  CHECK(growth(before) == expect(1, 0, 1, 0));

  // fault: one fault per page, once.
  auto faulted = Mapping::map(fault, 4 * page);
  touch_pages(faulted.bytes());
  touch_pages(faulted.bytes());
  CHECK(growth(before) == expect(2, 4, 1, 0));

  // A resize unmaps both; each refills page by page through its .fault.
  fault.resize(info.size + page);
  CHECK(read_number(sysfs_path("size")) == info.size + page);
  touch_pages(remapped.bytes());
  touch_pages(faulted.bytes());
  CHECK(growth(before) == expect(2, 12, 1, 1));

  remapped.unmap();
  faulted.unmap();
  CHECK(growth(before) == expect(0, 12, 1, 1));
}

// tracefs where the guest mounts it, or under debugfs.
std::string tracefs() {
  for (std::string root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    struct stat st {};
    if (::stat((root + "/trace").c_str(), &st) == 0) return root;
  }
  FAIL("tracefs is not mounted at /sys/kernel/tracing or /sys/kernel/debug/tracing");
  return {};
}

// Enables the mmapdemo events and empties the trace; disables them again.
class Tracing {
 public:
  explicit Tracing(std::string root) : root_{std::move(root)} {
    write_file(root_ + "/events/mmapdemo/enable", "1");
    write_file(root_ + "/trace", "");
  }
  Tracing(const Tracing&) = delete;
  Tracing& operator=(const Tracing&) = delete;
  ~Tracing() {
    try {
      write_file(root_ + "/events/mmapdemo/enable", "0");
    } catch (const std::exception&) {  // nothing to do about it here
    }
  }
  [[nodiscard]] std::string trace() const { return read_text(root_ + "/trace"); }

 private:
  std::string root_;
};

TEST_CASE("observability: tracepoints mmap fault and resize show in tracefs", "[observability]") {
  require_root();
  require_device();
  const RestoreSize restore;
  const auto page = page_size();
  const auto size = restore.original();
  const auto device = open_device(Strategy::fault);
  const auto pid = std::to_string(::getpid());

  std::string trace;
  std::byte* data = nullptr;
  {
    const Tracing tracing{tracefs()};
    auto mapping = Mapping::map(device, 2 * page, page);
    data = mapping.data();
    poke(data + page, std::byte{1});  // buffer page 2
    device.resize(2 * page);
    // Buffer page 2 is past the end now.
    CHECK(terminating_signal([&] { touch(data + page); }) == SIGBUS);
    trace = tracing.trace();
  }
  INFO("trace:\n" << trace);
  CHECK(trace.find(" mmap: pid=" + pid + " start=" + hex(data) + " length=" +
                   std::to_string(2 * page) + " pgoff=1 strategy=fault") != std::string::npos);
  CHECK(trace.find(" fault: pgoff=2 address=" + hex(data + page) +
                   " strategy=fault result=mapped") != std::string::npos);
  CHECK(trace.find(" resize: old=" + std::to_string(size) + " new=" + std::to_string(2 * page) +
                   " mappings=1") != std::string::npos);
  CHECK(trace.find(" fault: pgoff=2 address=" + hex(data + page) +
                   " strategy=fault result=sigbus") != std::string::npos);
}

}  // namespace
