// SPDX-License-Identifier: GPL-2.0
// The library's error paths that no real file takes on demand, with the
// failures injected (inject.hpp): every error keeps its errno and a message
// naming the call and the path, signals (EINTR) are retried, the owners stay
// consistent when close() or munmap() fail, and the doorbell speaks the
// uapi's ioctls. Host-only: this binary is not part of the guest suite.
#include <fcntl.h>
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <mmapdemo.h>  // the ioctl numbers the library must send
#include <catch2/catch_test_macros.hpp>

#include "inject.hpp"
#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

// A hook result: fail with err.
template <class R = int>
R fail(int err, R result = R{-1}) {
  errno = err;
  return result;
}

bool is_open_fd(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST_CASE("faults: a failed close reports EIO naming the path and still frees the descriptor",
          "[faults]") {
  inject::Scope scope;
  int calls = 0;
  // Linux releases the descriptor even when close() fails, so this does too.
  scope.hooks().close = [&](int fd) {
    ++calls;
    inject::real_close(fd);
    return fail(EIO);
  };

  auto device = Device::open("/dev/null");
  const int fd = device.fd();
  const auto error = thrown_by([&] { device.close(); });
  CHECK(error.code() == std::errc::io_error);
  CHECK(std::string{error.what()} == "close /dev/null: Input/output error");
  CHECK_FALSE(device.is_open());
  CHECK_FALSE(is_open_fd(fd));
  CHECK(calls == 1);
  device.close();  // nothing left to close: no second call, no error
  CHECK(calls == 1);

  auto quiet = Device::open("/dev/null");
  std::error_code ec;
  quiet.close(ec);
  CHECK(ec == std::errc::io_error);
  CHECK_FALSE(quiet.is_open());

  // The destructor and a move assignment have nowhere to report it.
  CHECK_NOTHROW([] { const auto scoped = Device::open("/dev/null"); }());
  auto target = Device::open("/dev/null");
  CHECK_NOTHROW(target = Device::open("/dev/zero"));
  CHECK(target.path() == "/dev/zero");
  CHECK(calls == 4);
}

TEST_CASE("faults: open retries EINTR and names the path of other errors", "[faults]") {
  inject::Scope scope;
  int calls = 0;
  scope.hooks().open = [&](const char* path, int flags, mode_t mode) {
    return ++calls <= 2 ? fail(EINTR) : inject::real_open(path, flags, mode);
  };
  const auto device = Device::open("/dev/null");
  CHECK(device.is_open());
  CHECK(calls == 3);

  scope.hooks().open = [&](const char*, int, mode_t) { return fail(EMFILE); };
  const auto error = thrown_by([] { (void)Device::open("/dev/null"); });
  CHECK(error.code() == std::errc::too_many_files_open);
  CHECK(std::string{error.what()} == "open /dev/null: Too many open files");
}

TEST_CASE("faults: pread and pwrite retry EINTR and report other errors unretried", "[faults]") {
  inject::Scope scope;
  int calls = 0;
  std::vector<std::byte> buffer(16, std::byte{0x5a});

  scope.hooks().pread = [&](int fd, void* out, std::size_t length, off_t offset) {
    return ++calls <= 2 ? fail<ssize_t>(EINTR) : inject::real_pread(fd, out, length, offset);
  };
  const auto zero = Device::open("/dev/zero");
  CHECK(zero.pread(buffer, 5) == buffer.size());
  CHECK_THAT(buffer, IsFilledWith(std::byte{0}));
  CHECK(calls == 3);

  calls = 0;
  scope.hooks().pread = [&](int, void*, std::size_t, off_t) {
    ++calls;
    return fail<ssize_t>(EIO);
  };
  const auto read_error = thrown_by([&] { (void)zero.pread(buffer, 5); });
  CHECK(read_error.code() == std::errc::io_error);
  CHECK(std::string{read_error.what()} ==
        "pread /dev/zero (offset 5, length 16): Input/output error");
  CHECK(calls == 1);

  calls = 0;
  scope.hooks().pwrite = [&](int fd, const void* in, std::size_t length, off_t offset) {
    return ++calls <= 3 ? fail<ssize_t>(EINTR) : inject::real_pwrite(fd, in, length, offset);
  };
  const auto null = Device::open("/dev/null", O_WRONLY);
  CHECK(null.pwrite(buffer, 7) == buffer.size());
  CHECK(calls == 4);

  scope.hooks().pwrite = [](int, const void*, std::size_t, off_t) { return fail<ssize_t>(ENOSPC); };
  std::error_code ec;
  CHECK(null.pwrite(buffer, 7, ec) == 0);
  CHECK(ec == std::errc::no_space_on_device);
  CHECK(std::string{thrown_by([&] { (void)null.pwrite(buffer, 4096); }).what()} ==
        "pwrite /dev/null (offset 4096, length 16): No space left on device");
}

TEST_CASE("faults: mmap out of memory is reported with the path offset and length", "[faults]") {
  inject::Scope scope;
  scope.hooks().mmap = [](void*, std::size_t, int, int, int, off_t) {
    return fail<void*>(ENOMEM, MAP_FAILED);
  };
  const auto zero = Device::open("/dev/zero");

  const auto error = thrown_by([&] { (void)Mapping::map(zero, 4096, 8192); });
  CHECK(error.code() == std::errc::not_enough_memory);
  CHECK(std::string{error.what()} ==
        "mmap /dev/zero (offset 8192, length 4096): Cannot allocate memory");

  std::error_code ec;
  const auto mapping =
      Mapping::map(zero, 4096, 0, Protection::read_only, Sharing::private_copy, ec);
  CHECK(ec == std::errc::not_enough_memory);
  CHECK(mapping.empty());
}

TEST_CASE("faults: a failed munmap is reported with the path offset and length", "[faults]") {
  inject::Scope scope;
  int calls = 0;
  // The range is really unmapped, so the test leaks nothing; the caller is
  // told it failed.
  scope.hooks().munmap = [&](void* address, std::size_t length) {
    ++calls;
    inject::real_munmap(address, length);
    return fail(EINVAL);
  };
  const auto page = page_size();
  const auto zero = Device::open("/dev/zero");

  auto mapping = Mapping::map(zero, page, page);
  const auto error = thrown_by([&] { mapping.unmap(); });
  CHECK(error.code() == std::errc::invalid_argument);
  CHECK(std::string{error.what()} == "munmap /dev/zero (offset " + std::to_string(page) +
                                         ", length " + std::to_string(page) +
                                         "): Invalid argument");
  CHECK(mapping.empty());  // nothing left that a retry could unmap twice
  mapping.unmap();
  CHECK(calls == 1);

  auto quiet = Mapping::map(zero, 2 * page);
  std::error_code ec;
  quiet.unmap(ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(quiet.empty());

  // The destructor and a move assignment have nowhere to report it.
  CHECK_NOTHROW([&] { const auto scoped = Mapping::map(zero, page); }());
  auto target = Mapping::map(zero, page);
  CHECK_NOTHROW(target = Mapping::map(zero, page));
  CHECK(calls == 4);
}

TEST_CASE("faults: ioctl failures keep their errno and name the request and the path", "[faults]") {
  inject::Scope scope;
  scope.hooks().ioctl = [](int, unsigned long, void*) { return fail(EFAULT); };
  auto device = Device::open("/dev/null");

  const auto info = thrown_by([&] { (void)device.info(); });
  CHECK(info.code() == std::errc::bad_address);
  CHECK(std::string{info.what()} == "ioctl MMAPDEMO_IOC_GET_INFO /dev/null: Bad address");
  CHECK(std::string{thrown_by([&] { device.set_strategy(Strategy::remap); }).what()} ==
        "ioctl MMAPDEMO_IOC_SET_STRATEGY /dev/null (strategy remap): Bad address");
  const auto ring = thrown_by([&] { device.ring(); });
  CHECK(ring.code() == std::errc::bad_address);
  CHECK(std::string{ring.what()} == "ioctl MMAPDEMO_IOC_RING /dev/null: Bad address");
  const auto ack = thrown_by([&] { (void)device.ack(); });
  CHECK(ack.code() == std::errc::bad_address);
  CHECK(std::string{ack.what()} == "ioctl MMAPDEMO_IOC_ACK /dev/null: Bad address");

  std::error_code ec;
  CHECK_FALSE(device.ack(ec));
  CHECK(ec == std::errc::bad_address);
}

TEST_CASE("faults: ring and ack send the doorbell ioctls and read the ring number", "[faults]") {
  inject::Scope scope;
  std::vector<unsigned long> requests;
  std::uint64_t next = 41;
  scope.hooks().ioctl = [&](int, unsigned long request, void* argument) {
    requests.push_back(request);
    if (request != MMAPDEMO_IOC_ACK) return 0;
    if (next == 43) return fail(EAGAIN);  // two rings, then none pending
    const __u64 number = next++;
    std::memcpy(argument, &number, sizeof number);
    return 0;
  };
  const auto device = Device::open("/dev/null");

  device.ring();
  CHECK(device.ack() == 41U);
  std::error_code ec;
  CHECK(device.ack(ec) == 42U);
  CHECK(ec == no_error);
  // EAGAIN is "no ring pending", not an error.
  CHECK_FALSE(device.ack(ec));
  CHECK(ec == no_error);
  CHECK_FALSE(device.ack());
  CHECK(requests == std::vector<unsigned long>{MMAPDEMO_IOC_RING, MMAPDEMO_IOC_ACK,
                                               MMAPDEMO_IOC_ACK, MMAPDEMO_IOC_ACK,
                                               MMAPDEMO_IOC_ACK});
}

// A device stand-in for wait_ring(): poll() and ACK as scripted by the test.
// The hooks run inside noexcept library calls, so they must not throw (no
// REQUIRE): anything unscripted fails with ENOSYS, which the test sees.
struct FakeDoorbell {
  std::vector<int> timeouts;  // what each poll() was asked to wait
  int acks = 0;               // ACK calls, answered or not

  // poll: each call runs the next step; ack: answers from numbers, then EAGAIN.
  void install(inject::Hooks& hooks, std::vector<std::function<int(pollfd&, int)>> steps,
               std::vector<std::uint64_t> numbers) {
    timeouts.clear();
    acks = 0;
    hooks.poll = [this, steps = std::move(steps)](pollfd* fds, nfds_t count, int timeout) {
      const auto step = timeouts.size();
      timeouts.push_back(timeout);
      if (count != 1 || step >= steps.size()) return fail(ENOSYS);
      return steps[step](fds[0], timeout);
    };
    hooks.ioctl = [this, numbers = std::move(numbers)](int, unsigned long request, void* argument) {
      if (request != MMAPDEMO_IOC_ACK) return fail(ENOSYS);
      const auto index = static_cast<std::size_t>(acks++);
      if (index >= numbers.size()) return fail(EAGAIN);
      const __u64 number = numbers[index];
      std::memcpy(argument, &number, sizeof number);
      return 0;
    };
  }
};

int interrupted(pollfd&, int) { return fail(EINTR); }
int readable(pollfd& pfd, int) {
  pfd.revents = POLLIN;
  return 1;
}
// As a poll() that sleeps its whole timeout and sees nothing.
int quiet(pollfd& pfd, int timeout) {
  std::this_thread::sleep_for(std::chrono::milliseconds{timeout});
  pfd.revents = 0;
  return 0;
}

TEST_CASE("faults: wait ring polls again after EINTR and then acks", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  fake.install(scope.hooks(), {interrupted, interrupted, readable}, {7});
  const auto device = Device::open("/dev/null");

  CHECK(device.wait_ring(5s) == 7U);
  CHECK(fake.acks == 1);
  REQUIRE(fake.timeouts.size() == 3);
  for (std::size_t i = 0; i < fake.timeouts.size(); ++i) {
    CAPTURE(i);
    CHECK(fake.timeouts[i] > 0);
    CHECK(fake.timeouts[i] <= 5000);
    if (i > 0) CHECK(fake.timeouts[i] <= fake.timeouts[i - 1]);  // the deadline stays put
  }
}

TEST_CASE("faults: wait ring keeps its deadline when signals keep interrupting it", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  // Each poll() is interrupted 30 ms in (or at its timeout, if sooner).
  const auto interrupted_later = [](pollfd&, int timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds{std::min(timeout, 30)});
    return fail(EINTR);
  };
  fake.install(scope.hooks(), std::vector<std::function<int(pollfd&, int)>>(100, interrupted_later),
               {});
  const auto device = Device::open("/dev/null");

  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  CHECK_FALSE(device.wait_ring(100ms, ec));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(ec == no_error);  // a timeout, not an error
  CHECK(took >= 100ms);
  CHECK(took < 2s);
  CHECK(fake.timeouts.size() >= 4);  // 100 ms in 30 ms slices, then one last look
  CHECK(fake.timeouts.back() == 0);  // the last look waits no more
  CHECK(fake.acks == 0);
}

TEST_CASE("faults: wait ring waits on when another thread acked the ring first", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  // Readable twice; the first ack finds the ring taken (EAGAIN), the second
  // finds the next one.
  fake.install(scope.hooks(), {readable, readable}, {});
  scope.hooks().ioctl = [&fake](int, unsigned long, void* argument) {
    if (fake.acks++ == 0) return fail(EAGAIN);
    const __u64 number = 9;
    std::memcpy(argument, &number, sizeof number);
    return 0;
  };
  const auto device = Device::open("/dev/null");
  CHECK(device.wait_ring(5s) == 9U);
  CHECK(fake.timeouts.size() == 2);
  CHECK(fake.acks == 2);
}

TEST_CASE("faults: wait ring ends at its deadline when the only ring was taken", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  fake.install(scope.hooks(), {readable, quiet, quiet, quiet}, {});
  const auto device = Device::open("/dev/null");

  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(device.wait_ring(200ms));
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  CHECK(fake.acks == 1);
  CHECK(fake.timeouts.size() >= 2);
}

TEST_CASE("faults: wait ring waits as long as it takes for a negative timeout", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  fake.install(scope.hooks(), {interrupted, readable}, {3});
  const auto device = Device::open("/dev/null");
  CHECK(device.wait_ring(-1ms) == 3U);
  CHECK(fake.timeouts == std::vector<int>{-1, -1});
  // So does a timeout too long for the clock.
  fake.install(scope.hooks(), {readable}, {4});
  CHECK(device.wait_ring(std::chrono::milliseconds::max()) == 4U);
  CHECK(fake.timeouts == std::vector<int>{-1});
}

TEST_CASE("faults: wait ring with a zero timeout looks once", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  fake.install(scope.hooks(), {quiet}, {});
  const auto device = Device::open("/dev/null");
  CHECK_FALSE(device.wait_ring(0ms));
  CHECK(fake.timeouts == std::vector<int>{0});
  CHECK(fake.acks == 0);
}

TEST_CASE("faults: wait ring names poll when poll fails", "[faults]") {
  inject::Scope scope;
  FakeDoorbell fake;
  fake.install(scope.hooks(), {[](pollfd&, int) { return fail(ENOMEM); }}, {});
  const auto device = Device::open("/dev/null");
  const auto error = thrown_by([&] { (void)device.wait_ring(5s); });
  CHECK(error.code() == std::errc::not_enough_memory);
  CHECK(std::string{error.what()} == "poll /dev/null: Cannot allocate memory");
  CHECK(fake.acks == 0);

  // A descriptor poll() does not know comes back as POLLNVAL, not as -1.
  fake.install(scope.hooks(), {[](pollfd& pfd, int) {
                 pfd.revents = POLLNVAL;
                 return 1;
               }},
               {});
  std::error_code ec;
  CHECK_FALSE(device.wait_ring(5s, ec));
  CHECK(ec == std::errc::bad_file_descriptor);
}

}  // namespace
