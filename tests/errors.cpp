// SPDX-License-Identifier: GPL-2.0
// What the device refuses, and with which errno: executable mappings, the
// VmFlags that enforce the mapping policy, bad and misplaced ioctls, and the
// fixed-size-file rules of read(), write() and lseek().
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <mmapdemo.h>  // ioctl numbers for the calls the library cannot get wrong
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};

TEST_CASE_METHOD(DeviceTest, "errors: exec mappings are refused with EPERM", "[errors]") {
  open(GENERATE(from_range(all_strategies)));

  // On a noexec /dev the core refuses PROT_EXEC itself and the driver's own
  // check goes untested.
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_NOEXEC) != 0) {
    WARN("/dev is mounted noexec: EPERM comes from the kernel, not the driver");
  }
  for (const int prot : {PROT_EXEC, PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC}) {
    CAPTURE(prot);
    CHECK(mmap_error(page, prot, MAP_SHARED, device.fd()) == std::errc::operation_not_permitted);
    if (maps_pages(strategy)) {
      CHECK(mmap_error(page, prot, MAP_PRIVATE, device.fd()) == std::errc::operation_not_permitted);
    }
  }
}

TEST_CASE_METHOD(DeviceTest, "errors: mprotect cannot make a mapping executable", "[errors]") {
  open(GENERATE(from_range(all_strategies)));

  std::vector<Mapping> mappings;
  mappings.push_back(Mapping::map(device, page, 0, Protection::read_write));
  mappings.push_back(Mapping::map(device, page, 0, Protection::read_only));
  if (maps_pages(strategy)) {
    mappings.push_back(
        Mapping::map(device, page, 0, Protection::read_write, Sharing::private_copy));
  }
  for (auto& mapping : mappings) {
    CHECK(sys_error(::mprotect(mapping.data(), page, PROT_READ | PROT_EXEC)) ==
          std::errc::permission_denied);
    CHECK(sys_error(::mprotect(mapping.data(), page, PROT_EXEC)) == std::errc::permission_denied);
  }
}

TEST_CASE_METHOD(DeviceTest, "errors: VmFlags carry the mapping policy", "[errors]") {
  open(GENERATE(from_range(all_strategies)));
  const auto mapping = Mapping::map(device, page_size());

  const auto flags = vm_flags(mapping.data());
  CAPTURE(flags);
  CHECK(flags.contains("rd"));
  CHECK(flags.contains("wr"));
  CHECK(flags.contains("sh"));
  CHECK(flags.contains("de"));  // VM_DONTEXPAND
  CHECK(flags.contains("dd"));  // VM_DONTDUMP
  CHECK_FALSE(flags.contains("ex"));
  CHECK_FALSE(flags.contains("me"));  // VM_MAYEXEC cleared
  // VM_HUGEPAGE: huge entries even where THP is enabled for madvise only.
  CHECK(flags.contains("hg") == (strategy == Strategy::huge));
  // The driver inserts pages itself (VM_MIXEDMAP) for these two.
  CHECK(flags.contains("mm") ==
        (strategy == Strategy::faultaround || strategy == Strategy::prefault));
  if (!maps_pages(strategy)) {
    CHECK(flags.contains("pf"));  // VM_PFNMAP
    CHECK(flags.contains("io"));
  } else {
    CHECK_FALSE(flags.contains("pf"));
    CHECK_FALSE(flags.contains("io"));

    const auto copy =
        Mapping::map(device, page_size(), 0, Protection::read_write, Sharing::private_copy);
    const auto private_flags = vm_flags(copy.data());
    CAPTURE(private_flags);
    CHECK_FALSE(private_flags.contains("sh"));
    CHECK(private_flags.contains("de"));
    CHECK(private_flags.contains("dd"));
    CHECK_FALSE(private_flags.contains("me"));
    CHECK_FALSE(private_flags.contains("pf"));
  }
}

TEST_CASE("errors: unknown ioctls fail with ENOTTY", "[errors]") {
  require_device();
  const auto device = Device::open(path);

  CHECK(sys_error(::ioctl(device.fd(), _IO(MMAPDEMO_IOC_MAGIC, 0x7f))) ==
        std::errc::inappropriate_io_control_operation);
  // GET_INFO's number with another size: commands are compared whole.
  std::uint64_t word = 0;
  CHECK(sys_error(::ioctl(device.fd(), _IOR(MMAPDEMO_IOC_MAGIC, 0x00, __u64), &word)) ==
        std::errc::inappropriate_io_control_operation);
  // A terminal ioctl (TCGETS).
  const int tty = ::isatty(device.fd());
  const auto ec = last_error();
  CHECK(tty == 0);
  CHECK(ec == std::errc::inappropriate_io_control_operation);
}

TEST_CASE("errors: ioctls with a bad pointer fail with EFAULT", "[errors]") {
  require_device();
  const auto device = Device::open(path);
  const auto none = Region::reserve(page_size());

  CHECK(sys_error(::ioctl(device.fd(), MMAPDEMO_IOC_GET_INFO, none.data())) ==
        std::errc::bad_address);
  CHECK(sys_error(::ioctl(device.fd(), MMAPDEMO_IOC_SET_STRATEGY, none.data())) ==
        std::errc::bad_address);
  CHECK(sys_error(::ioctl(device.fd(), MMAPDEMO_IOC_GET_INFO, nullptr)) == std::errc::bad_address);
  CHECK(sys_error(::ioctl(device.fd(), MMAPDEMO_IOC_SET_STRATEGY, nullptr)) ==
        std::errc::bad_address);
}

TEST_CASE("errors: SET_STRATEGY rejects unknown strategies with EINVAL", "[errors]") {
  require_device();
  auto device = Device::open(path);
  const auto before = device.info().strategy;

  const auto past_last = static_cast<std::uint32_t>(all_strategies.back()) + 1;
  for (const std::uint32_t value : {past_last, past_last + 1, 0x80000000U, 0xffffffffU}) {
    CAPTURE(value);
    std::error_code ec;
    device.set_strategy(static_cast<Strategy>(value), ec);
    CHECK(ec == std::errc::invalid_argument);
  }
  CHECK(device.info().strategy == before);
}

// The first successful mmap() fixes the file's strategy for good: EBUSY
// while mapped and after munmap() too. Other files are not affected.
TEST_CASE("errors: SET_STRATEGY fails with EBUSY once the file has been mapped", "[errors]") {
  require_device();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  auto device = open_device(other(strategy));
  device.set_strategy(strategy);  // as often as wanted before the first mmap()
  REQUIRE(device.info().strategy == strategy);

  auto mapping = Mapping::map(device, page_size());
  std::error_code ec;
  device.set_strategy(other(strategy), ec);
  CHECK(ec == std::errc::device_or_resource_busy);
  mapping.unmap();
  device.set_strategy(other(strategy), ec);
  CHECK(ec == std::errc::device_or_resource_busy);
  CHECK(device.info().strategy == strategy);

  const auto fresh = open_device(other(strategy));
  CHECK(fresh.info().strategy == other(strategy));
}

// The expected GET_INFO values for the module parameters the runner used
// (MMAPDEMO_PARAMS), with the driver's defaults for those not given.
Info expected_info(const std::string& params) {
  Info info{.size = 1 << 20,
            .page_size = static_cast<std::uint32_t>(page_size()),
            .backend = Backend::kmalloc,
            .strategy = Strategy::remap,
            .default_strategy = Strategy::remap};
  std::istringstream words{params};
  for (std::string word; words >> word;) {
    const auto equals = word.find('=');
    if (equals == std::string::npos) continue;
    const auto key = word.substr(0, equals);
    const auto value = word.substr(equals + 1);
    if (key == "size") {
      const auto page = std::uint64_t{info.page_size};
      info.size = (std::stoull(value, nullptr, 0) + page - 1) / page * page;  // kstrtoul base 0
    } else if (key == "backend") {
      info.backend = parse_backend(value).value_or(static_cast<Backend>(~0U));
    } else if (key == "strategy") {
      info.default_strategy = parse_strategy(value).value_or(static_cast<Strategy>(~0U));
    }
  }
  info.strategy = info.default_strategy;
  return info;
}

TEST_CASE("errors: GET_INFO reports the buffer and the file strategy", "[errors]") {
  require_device();
  auto device = Device::open(path);
  const auto info = device.info();
  CAPTURE(info.size, info.page_size, info.backend, info.strategy, info.default_strategy);

  CHECK(info.page_size == page_size());
  CHECK(info.size > 0);
  CHECK(info.size % info.page_size == 0);
  CHECK(info.strategy == info.default_strategy);
  if (const char* const backend = std::getenv("MMAPDEMO_BACKEND")) {
    CHECK(backend == to_string(info.backend));
  }
  if (const auto params = module_params()) {
    CAPTURE(*params);
    const auto expected = expected_info(*params);
    CHECK(info.size == expected.size);
    CHECK(info.backend == expected.backend);
    CHECK(info.default_strategy == expected.default_strategy);
  }

  device.set_strategy(other(info.default_strategy));
  const auto changed = device.info();
  CHECK(changed.strategy == other(info.default_strategy));
  CHECK(changed.default_strategy == info.default_strategy);
  CHECK(changed.size == info.size);
  CHECK(Device::open(path).info().strategy == info.default_strategy);
}

// ---- read(), write() and lseek() on a fixed-size file -----------------------

TEST_CASE("errors: read returns 0 at the end and is short across it", "[errors]") {
  require_device();
  const auto device = Device::open(path);
  const auto size = device.info().size;
  const auto end = static_cast<off_t>(size);
  const auto seed = new_seed();
  write_all(device, pattern(100, size - 100, seed), size - 100);

  std::vector<std::byte> buffer(300);
  CHECK(device.pread(buffer, size) == 0);
  CHECK(device.pread(buffer, size + page_size()) == 0);
  CHECK(device.pread(buffer, size - 100) == 100);
  CHECK_THAT(std::span{buffer}.first(100), HasPattern(size - 100, seed));

  const int fd = device.fd();
  REQUIRE(::lseek(fd, end - 100, SEEK_SET) == end - 100);
  CHECK(::read(fd, buffer.data(), buffer.size()) == 100);
  CHECK(::read(fd, buffer.data(), buffer.size()) == 0);
  CHECK(::lseek(fd, 0, SEEK_CUR) == end);
}

TEST_CASE("errors: write fails with ENOSPC at the end and is short across it", "[errors]") {
  require_device();
  const auto device = Device::open(path);
  const auto size = device.info().size;
  const auto end = static_cast<off_t>(size);
  const auto seed = new_seed();
  const auto data = pattern(300, size - 100, seed);

  std::error_code ec;
  CHECK(device.pwrite(data, size, ec) == 0);
  CHECK(ec == std::errc::no_space_on_device);
  CHECK(device.pwrite(data, size + page_size(), ec) == 0);
  CHECK(ec == std::errc::no_space_on_device);
  CHECK(device.pwrite(data, size - 100) == 100);
  CHECK_THAT(read_all(device, 100, size - 100), HasPattern(size - 100, seed));

  const int fd = device.fd();
  const auto seed2 = new_seed();
  const auto data2 = pattern(300, size - 100, seed2);
  REQUIRE(::lseek(fd, end - 100, SEEK_SET) == end - 100);
  CHECK(::write(fd, data2.data(), data2.size()) == 100);
  CHECK(::lseek(fd, 0, SEEK_CUR) == end);
  CHECK(sys_error(::write(fd, data2.data(), data2.size())) == std::errc::no_space_on_device);
  CHECK_THAT(read_all(device, 100, size - 100), HasPattern(size - 100, seed2));
}

TEST_CASE("errors: read and write with a bad user pointer fail with EFAULT", "[errors]") {
  require_device();
  const auto device = Device::open(path);
  const auto page = page_size();
  const int fd = device.fd();

  const auto none = Region::reserve(page);  // PROT_NONE
  CHECK(sys_error(::pread(fd, none.data(), page, 0)) == std::errc::bad_address);
  CHECK(sys_error(::pwrite(fd, none.data(), page, 0)) == std::errc::bad_address);
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  CHECK(sys_error(::read(fd, none.data(), page)) == std::errc::bad_address);
  CHECK(sys_error(::write(fd, none.data(), page)) == std::errc::bad_address);
  CHECK(::lseek(fd, 0, SEEK_CUR) == 0);  // failed calls do not move the position

  void* const gone =
      ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(gone != MAP_FAILED);
  REQUIRE(::munmap(gone, page) == 0);
  CHECK(sys_error(::pread(fd, gone, page, 0)) == std::errc::bad_address);
  CHECK(sys_error(::pwrite(fd, gone, page, 0)) == std::errc::bad_address);
}

// copy_from_user() zero-fills what it could not copy: a driver that copies
// straight into the shared buffer with it (simple_write_to_buffer) clobbers
// bytes it never reports as written.
TEST_CASE("errors: a write from a partly unmapped buffer changes only what it reports",
          "[errors]") {
  require_device();
  const auto device = Device::open(path);
  const auto page = page_size();
  const auto seed = new_seed();
  write_all(device, pattern(3 * page, 0, seed), 0);

  // One readable page of 0x5a, then a page that is not mapped.
  auto source = Region::reserve(2 * page);
  REQUIRE(::mprotect(source.data(), page, PROT_READ | PROT_WRITE) == 0);
  std::memset(source.data(), 0x5a, page);

  const auto result =
      ::pwrite(device.fd(), source.data() + page / 2, 2 * page, static_cast<off_t>(page));
  REQUIRE(result > 0);  // short, not EFAULT: the first half page was readable
  const auto written = static_cast<std::size_t>(result);
  CHECK(written == page / 2);
  const auto after = read_all(device, 3 * page, 0);
  const std::span<const std::byte> bytes{after};
  CHECK_THAT(bytes.first(page), HasPattern(0, seed));
  CHECK_THAT(bytes.subspan(page, written), IsFilledWith(std::byte{0x5a}));
  CHECK_THAT(bytes.subspan(page + written), HasPattern(page + written, seed));
}

TEST_CASE("errors: lseek stays inside the buffer", "[errors]") {
  require_device();
  const auto device = Device::open(path);
  const auto end = static_cast<off_t>(device.info().size);
  const auto page = static_cast<off_t>(page_size());
  const int fd = device.fd();

  CHECK(::lseek(fd, 0, SEEK_END) == end);
  CHECK(::lseek(fd, -page, SEEK_END) == end - page);
  CHECK(::lseek(fd, end, SEEK_SET) == end);  // the end itself is a position
  CHECK(sys_error(::lseek(fd, -1, SEEK_SET)) == std::errc::invalid_argument);
  CHECK(sys_error(::lseek(fd, end + 1, SEEK_SET)) == std::errc::invalid_argument);
  CHECK(sys_error(::lseek(fd, 1, SEEK_END)) == std::errc::invalid_argument);

  REQUIRE(::lseek(fd, 100, SEEK_SET) == 100);
  CHECK(::lseek(fd, 50, SEEK_CUR) == 150);
  CHECK(sys_error(::lseek(fd, -151, SEEK_CUR)) == std::errc::invalid_argument);
  CHECK(::lseek(fd, 0, SEEK_CUR) == 150);  // a failed lseek() does not move
  CHECK(::lseek(fd, end - 150, SEEK_CUR) == end);
  CHECK(sys_error(::lseek(fd, 1, SEEK_CUR)) == std::errc::invalid_argument);

  // read() and write() go where lseek() put the position, and move it.
  const auto seed = new_seed();
  write_all(device, pattern(200, 0, seed), 0);
  REQUIRE(::lseek(fd, 123, SEEK_SET) == 123);
  std::array<std::byte, 10> buffer{};
  CHECK(::read(fd, buffer.data(), buffer.size()) == 10);
  CHECK_THAT(buffer, HasPattern(123, seed));
  CHECK(::lseek(fd, 0, SEEK_CUR) == 133);
  fill_pattern(buffer, 133, seed + 1);
  CHECK(::write(fd, buffer.data(), buffer.size()) == 10);
  CHECK(::lseek(fd, 0, SEEK_CUR) == 143);
  CHECK_THAT(read_all(device, 10, 133), HasPattern(133, seed + 1));
}

}  // namespace
