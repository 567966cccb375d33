// SPDX-License-Identifier: GPL-2.0
// The library's own contract, checked without the device (these run on the
// host too): errors name what failed, the owners are move-only and leave
// their source empty, and they release what they own.
#include <fcntl.h>
#include <sys/mman.h>

#include <chrono>
#include <type_traits>
#include <vector>

#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

bool is_open_fd(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

bool is_mapped(const void* address, std::size_t length) {
  std::vector<unsigned char> pages((length + page_size() - 1) / page_size());
  return ::mincore(const_cast<void*>(address), length, pages.data()) == 0;
}

TEST_CASE("library: opening a missing path fails with ENOENT naming the path", "[library]") {
  const std::string path = "/nonexistent/mmapdemo";

  const auto error = thrown_by([&] { (void)Device::open(path); });
  CHECK(error.code() == std::errc::no_such_file_or_directory);
  CHECK(std::string{error.what()} == "open /nonexistent/mmapdemo: No such file or directory");

  std::error_code ec;
  const auto device = Device::open(path, O_RDWR, ec);
  CHECK(ec == std::errc::no_such_file_or_directory);
  CHECK_FALSE(device.is_open());
  CHECK(device.fd() == -1);
}

TEST_CASE("library: operations on a closed or empty Device fail with EBADF", "[library]") {
  auto device = Device::open("/dev/null");
  REQUIRE(device.is_open());
  device.close();
  CHECK(device.fd() == -1);
  CHECK(device.path() == "/dev/null");  // kept for messages
  device.close();                       // closing twice does nothing

  std::error_code ec;
  (void)device.info(ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  device.set_strategy(Strategy::fault, ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  device.resize(8192, ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  std::vector<std::byte> buffer(16);
  CHECK(device.pread(buffer, 0, ec) == 0);
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK(device.pwrite(buffer, 0, ec) == 0);
  CHECK(ec == std::errc::bad_file_descriptor);

  auto mapping = Mapping::map(device, page_size(), 0, Protection::read_write, Sharing::shared, ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK(mapping.empty());
  CHECK(std::string{thrown_by([&] { (void)Mapping::map(device, 4096); }).what()} ==
        "mmap /dev/null (offset 0, length 4096): Bad file descriptor");

  const Device empty;
  CHECK_FALSE(empty);
  const auto error = thrown_by([&] { (void)Mapping::map(empty, 4096, 8192); });
  CHECK(error.code() == std::errc::bad_file_descriptor);
  CHECK(std::string{error.what()} ==
        "mmap <no file> (offset 8192, length 4096): Bad file descriptor");
}

TEST_CASE("library: ioctls on another device fail with ENOTTY naming the call", "[library]") {
  const auto device = Device::open("/dev/null");

  const auto info_error = thrown_by([&] { (void)device.info(); });
  CHECK(info_error.code() == std::errc::inappropriate_io_control_operation);
  CHECK(std::string{info_error.what()} ==
        "ioctl MMAPDEMO_IOC_GET_INFO /dev/null: Inappropriate ioctl for device");

  auto writable = Device::open("/dev/null");
  const auto set_error = thrown_by([&] { writable.set_strategy(Strategy::fault); });
  CHECK(set_error.code() == std::errc::inappropriate_io_control_operation);
  CHECK(std::string{set_error.what()} ==
        "ioctl MMAPDEMO_IOC_SET_STRATEGY /dev/null (strategy fault): Inappropriate ioctl for "
        "device");
  CHECK(std::string{thrown_by([&] { writable.set_strategy(static_cast<Strategy>(7)); }).what()} ==
        "ioctl MMAPDEMO_IOC_SET_STRATEGY /dev/null (strategy 7): Inappropriate ioctl for device");

  const auto resize_error = thrown_by([&] { device.resize(8192); });
  CHECK(resize_error.code() == std::errc::inappropriate_io_control_operation);
  CHECK(std::string{resize_error.what()} ==
        "ioctl MMAPDEMO_IOC_RESIZE /dev/null (size 8192): Inappropriate ioctl for device");
  std::error_code ec;
  device.resize(8192, ec);
  CHECK(ec == std::errc::inappropriate_io_control_operation);
}

TEST_CASE("library: mmap errors name the path the offset and the length", "[library]") {
  const auto zero = Device::open("/dev/zero");

  const auto empty = thrown_by([&] { (void)Mapping::map(zero, 0); });
  CHECK(empty.code() == std::errc::invalid_argument);
  CHECK(std::string{empty.what()} == "mmap /dev/zero (offset 0, length 0): Invalid argument");

  const auto unaligned = thrown_by([&] { (void)Mapping::map(zero, 4096, 1); });
  CHECK(unaligned.code() == std::errc::invalid_argument);
  CHECK(std::string{unaligned.what()} ==
        "mmap /dev/zero (offset 1, length 4096): Invalid argument");

  std::error_code ec;
  const auto mapping = Mapping::map(zero, 0, 0, Protection::read_only, Sharing::shared, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(mapping.empty());
  CHECK(mapping.bytes().empty());
}

TEST_CASE("library: pread and pwrite return counts and name failures", "[library]") {
  std::vector<std::byte> buffer(100, std::byte{0x5a});

  const auto zero = Device::open("/dev/zero", O_RDONLY);
  CHECK(zero.pread(buffer, 12345) == buffer.size());
  CHECK_THAT(buffer, IsFilledWith(std::byte{0}));

  const auto null = Device::open("/dev/null", O_RDWR);
  CHECK(null.pread(buffer, 0) == 0);  // end of file
  CHECK(null.pwrite(buffer, 0) == buffer.size());

  const auto read_only = Device::open("/dev/null", O_RDONLY);
  const auto error = thrown_by([&] { (void)read_only.pwrite(buffer, 7); });
  CHECK(error.code() == std::errc::bad_file_descriptor);
  CHECK(std::string{error.what()} ==
        "pwrite /dev/null (offset 7, length 100): Bad file descriptor");
}

// /dev/null answers every poll() at once, and no ioctl at all: wait_ring()
// gets as far as its ack, which then fails.
TEST_CASE("library: doorbell calls on another device fail with ENOTTY naming the call",
          "[library]") {
  const auto device = Device::open("/dev/null");

  const auto ring_error = thrown_by([&] { device.ring(); });
  CHECK(ring_error.code() == std::errc::inappropriate_io_control_operation);
  CHECK(std::string{ring_error.what()} ==
        "ioctl MMAPDEMO_IOC_RING /dev/null: Inappropriate ioctl for device");

  const auto ack_error = thrown_by([&] { (void)device.ack(); });
  CHECK(ack_error.code() == std::errc::inappropriate_io_control_operation);
  CHECK(std::string{ack_error.what()} ==
        "ioctl MMAPDEMO_IOC_ACK /dev/null: Inappropriate ioctl for device");

  const auto wait_error = thrown_by([&] { (void)device.wait_ring(10s); });
  CHECK(wait_error.code() == std::errc::inappropriate_io_control_operation);
  CHECK(std::string{wait_error.what()} ==
        "ioctl MMAPDEMO_IOC_ACK /dev/null: Inappropriate ioctl for device");

  std::error_code ec;
  device.ring(ec);
  CHECK(ec == std::errc::inappropriate_io_control_operation);
  CHECK_FALSE(device.ack(ec));
  CHECK(ec == std::errc::inappropriate_io_control_operation);
  CHECK_FALSE(device.wait_ring(10s, ec));
  CHECK(ec == std::errc::inappropriate_io_control_operation);
}

// poll() skips a negative descriptor and sleeps out its timeout: wait_ring()
// must say EBADF at once instead.
TEST_CASE("library: doorbell calls on a closed Device fail with EBADF at once", "[library]") {
  auto device = Device::open("/dev/null");
  device.close();

  const auto start = std::chrono::steady_clock::now();
  const auto wait_error = thrown_by([&] { (void)device.wait_ring(10s); });
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(wait_error.code() == std::errc::bad_file_descriptor);
  CHECK(std::string{wait_error.what()} == "poll /dev/null: Bad file descriptor");

  std::error_code ec;
  CHECK_FALSE(device.wait_ring(-1ms, ec));  // not even forever
  CHECK(ec == std::errc::bad_file_descriptor);
  device.ring(ec);
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK_FALSE(device.ack(ec));
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK(std::string{thrown_by([&] { (void)Device{}.ack(); }).what()} ==
        "ioctl MMAPDEMO_IOC_ACK <no file>: Bad file descriptor");
}

TEST_CASE("library: Device is move-only and a move leaves the source empty", "[library]") {
  STATIC_CHECK_FALSE(std::is_copy_constructible_v<Device>);
  STATIC_CHECK_FALSE(std::is_copy_assignable_v<Device>);
  STATIC_CHECK(std::is_nothrow_move_constructible_v<Device>);
  STATIC_CHECK(std::is_nothrow_move_assignable_v<Device>);

  auto source = Device::open("/dev/null");
  const int fd = source.fd();

  Device target{std::move(source)};
  CHECK(target.fd() == fd);
  CHECK(target.path() == "/dev/null");
  CHECK(source.fd() == -1);  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(source.path().empty());
  CHECK_FALSE(source);

  // Assigning over an open Device closes what it had.
  auto other = Device::open("/dev/zero");
  const int other_fd = other.fd();
  other = std::move(target);
  CHECK(other.fd() == fd);
  CHECK_FALSE(is_open_fd(other_fd));
  CHECK(target.fd() == -1);  // NOLINT(bugprone-use-after-move)

  {
    const Device scoped{std::move(other)};
    CHECK(is_open_fd(fd));
  }
  CHECK_FALSE(is_open_fd(fd));  // the destructor closed it
}

TEST_CASE("library: Mapping is move-only and unmaps what it owns", "[library]") {
  STATIC_CHECK_FALSE(std::is_copy_constructible_v<Mapping>);
  STATIC_CHECK_FALSE(std::is_copy_assignable_v<Mapping>);
  STATIC_CHECK(std::is_nothrow_move_constructible_v<Mapping>);
  STATIC_CHECK(std::is_nothrow_move_assignable_v<Mapping>);

  const auto length = 2 * page_size();
  const auto zero = Device::open("/dev/zero");
  auto source = Mapping::map(zero, length);
  REQUIRE(source.size() == length);
  source.bytes()[length - 1] = std::byte{42};
  const auto* const address = source.data();

  Mapping target{std::move(source)};
  CHECK(target.data() == address);
  CHECK(target.size() == length);
  CHECK(target.bytes()[length - 1] == std::byte{42});
  CHECK(source.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(source.size() == 0);
  CHECK(source.bytes().empty());

  // Assigning over a Mapping unmaps what it had.
  auto other = Mapping::map(zero, page_size(), 0, Protection::read_only, Sharing::private_copy);
  const auto* const other_address = other.data();
  other = std::move(target);
  CHECK(other.data() == address);
  CHECK_FALSE(is_mapped(other_address, page_size()));

  {
    const Mapping scoped{std::move(other)};
    CHECK(is_mapped(address, length));
  }
  CHECK_FALSE(is_mapped(address, length));  // the destructor unmapped it

  // What unmap() messages need outlives the Device and follows moves.
  {
    auto device = Device::open("/dev/zero");
    auto window = Mapping::map(device, page_size(), page_size());
    device.close();
    CHECK(window.path() == "/dev/zero");
    CHECK(window.offset() == page_size());
    const Mapping moved{std::move(window)};
    CHECK(moved.path() == "/dev/zero");
    CHECK(moved.offset() == page_size());
    CHECK(window.path().empty());  // NOLINT(bugprone-use-after-move)
    CHECK(window.offset() == 0);   // NOLINT(bugprone-use-after-move)
  }

  auto explicit_unmap = Mapping::map(zero, page_size());
  const auto* const unmapped = explicit_unmap.data();
  explicit_unmap.unmap();
  CHECK(explicit_unmap.empty());
  CHECK(explicit_unmap.path().empty());
  CHECK_FALSE(is_mapped(unmapped, page_size()));
  explicit_unmap.unmap();  // unmapping twice does nothing
}

TEST_CASE("library: strategy and backend names round-trip", "[library]") {
  STATIC_CHECK(static_cast<std::uint32_t>(Strategy::remap) == MMAPDEMO_STRATEGY_REMAP);
  STATIC_CHECK(static_cast<std::uint32_t>(Strategy::fault) == MMAPDEMO_STRATEGY_FAULT);
  STATIC_CHECK(static_cast<std::uint32_t>(Strategy::faultaround) == MMAPDEMO_STRATEGY_FAULTAROUND);
  STATIC_CHECK(static_cast<std::uint32_t>(Strategy::prefault) == MMAPDEMO_STRATEGY_PREFAULT);
  STATIC_CHECK(static_cast<std::uint32_t>(Strategy::huge) == MMAPDEMO_STRATEGY_HUGE);
  STATIC_CHECK(static_cast<std::uint32_t>(Backend::kmalloc) == MMAPDEMO_BACKEND_KMALLOC);
  STATIC_CHECK(static_cast<std::uint32_t>(Backend::vmalloc) == MMAPDEMO_BACKEND_VMALLOC);
  STATIC_CHECK(static_cast<std::uint32_t>(Backend::chunked) == MMAPDEMO_BACKEND_CHUNKED);

  for (const auto strategy : all_strategies) {
    CHECK(parse_strategy(to_string(strategy)) == strategy);
  }
  for (const auto backend : all_backends) {
    CHECK(parse_backend(to_string(backend)) == backend);
  }
  CHECK(to_string(Strategy::remap) == "remap");
  CHECK(to_string(Strategy::faultaround) == "faultaround");
  CHECK(to_string(Backend::vmalloc) == "vmalloc");
  CHECK(to_string(Backend::chunked) == "chunked");
  CHECK(to_string(static_cast<Strategy>(7)) == "unknown");
  CHECK(to_string(static_cast<Backend>(7)) == "unknown");
  CHECK_FALSE(parse_strategy("REMAP"));
  CHECK_FALSE(parse_strategy(""));
  CHECK_FALSE(parse_backend("kmalloc "));
}

}  // namespace
