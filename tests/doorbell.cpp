// SPDX-License-Identifier: GPL-2.0
// The doorbell: RING wakes every poller, and each open file acknowledges
// each ring made after it was opened exactly once, in order, with its
// number: whoever rings, however fast, however many files and threads wait,
// through poll(), select() and epoll alike.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

#include <mmapdemo.h>  // ACK with a bad pointer, which the library never sends
#include <catch2/catch_test_macros.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};

// The system calls a waiter sleeps in, by the glibc function it called.
const std::initializer_list<long> poll_calls{SYS_poll, SYS_ppoll};
const std::initializer_list<long> select_calls{SYS_select, SYS_pselect6};
const std::initializer_list<long> epoll_calls{SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2};

// The number of the device's latest ring, learned by ringing once through a
// file of its own. Files opened after this see the rings from here + 1 on.
std::uint64_t latest_ring() {
  const auto probe = Device::open(path);
  probe.ring();
  const auto number = probe.ack();
  if (!number) throw std::runtime_error("a file did not see its own ring");
  return *number;
}

// Every ring pending for device, acknowledged in order.
std::vector<std::uint64_t> drain(const Device& device) {
  std::vector<std::uint64_t> numbers;
  while (const auto number = device.ack()) numbers.push_back(*number);
  return numbers;
}

std::vector<std::uint64_t> numbered(std::uint64_t first, std::size_t count) {
  std::vector<std::uint64_t> numbers(count);
  std::iota(numbers.begin(), numbers.end(), first);
  return numbers;
}

// Empty when numbers are first, first + 1, ..., else where they are not.
std::string diff_numbers(const std::vector<std::uint64_t>& numbers, std::uint64_t first,
                         std::size_t count) {
  for (std::size_t i = 0; i < std::min(numbers.size(), count); ++i) {
    if (numbers[i] != first + i) {
      return "ack " + std::to_string(i) + " got ring " + std::to_string(numbers[i]) +
             ", expected " + std::to_string(first + i);
    }
  }
  if (numbers.size() != count) {
    return std::to_string(numbers.size()) + " acks, expected " + std::to_string(count);
  }
  return {};
}

bool readable(const Device& device) {
  pollfd pfd{device.fd(), POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}

// The preamble of the tests of one file, as a fixture for TEST_CASE_METHOD:
// SKIPs without the device, then before, the latest ring's number, and
// device, a file opened after it, which acknowledges the rings from
// before + 1 on.
class OneFile {
 protected:
  OneFile() {
    require_device();
    before = latest_ring();
    device = Device::open(path);
  }

  std::uint64_t before = 0;
  Device device;
};

TEST_CASE("doorbell: a process asleep in poll wakes when another process rings", "[doorbell]") {
  require_device();
  const auto before = latest_ring();
  const Notice opened;

  Child a{[&] {
    const auto device = Device::open(path);
    opened.post();
    const auto number = device.wait_ring(30s);  // poll(), then ack
    if (!number) return 1;
    if (*number != before + 1) return 2;
    return device.ack() ? 3 : 0;
  }};
  REQUIRE(opened.wait());
  // B rings only once A sleeps in poll(): A is woken, not merely lucky.
  REQUIRE(wait_until_asleep_in(a.pid(), poll_calls));
  Child b{[&] {
    Device::open(path).ring();
    return 0;
  }};
  CHECK(b.wait() == ChildStatus::exited(0));
  CHECK(a.wait() == ChildStatus::exited(0));
}

TEST_CASE_METHOD(OneFile,
                 "doorbell: a burst of rings is acknowledged one by one with none lost or doubled",
                 "[doorbell]") {
  constexpr std::size_t rings = 2000;

  Child ringer{[&] {
    const auto own = Device::open(path);
    for (std::size_t i = 0; i < rings; ++i) own.ring();
    return 0;
  }};
  // poll() + ack per ring, as fast as the ringer goes.
  std::vector<std::uint64_t> acked;
  while (acked.size() < rings) {
    const auto number = device.wait_ring(30s);
    if (!number) break;
    acked.push_back(*number);
  }
  CHECK(ringer.wait() == ChildStatus::exited(0));
  CHECK(diff_numbers(acked, before + 1, rings) == "");
  std::error_code ec;
  CHECK_FALSE(device.ack(ec));
  CHECK(ec == no_error);  // EAGAIN: nothing pending is not an error
  CHECK_FALSE(readable(device));
}

TEST_CASE("doorbell: every open file sees every ring exactly once", "[doorbell]") {
  require_device();
  constexpr std::size_t rings = 50;
  const auto before = latest_ring();
  // Two files in this process, one in each of two children.
  const auto first = Device::open(path);
  const auto second = Device::open(path);
  const Notice opened;
  const Notice rung;
  const auto other = [&] {
    const auto own = Device::open(path);
    opened.post();
    if (!rung.wait(30s)) return 1;
    return diff_numbers(drain(own), before + 1, rings).empty() ? 0 : 2;
  };
  Child one{other};
  Child two{other};
  REQUIRE(opened.wait());
  REQUIRE(opened.wait());

  for (std::size_t i = 0; i < rings; ++i) first.ring();  // a file rings for itself too
  rung.post();
  rung.post();
  CHECK(diff_numbers(drain(first), before + 1, rings) == "");
  CHECK(diff_numbers(drain(second), before + 1, rings) == "");
  CHECK(one.wait() == ChildStatus::exited(0));
  CHECK(two.wait() == ChildStatus::exited(0));
}

TEST_CASE("doorbell: a file opened after some rings sees only the rings after it", "[doorbell]") {
  require_device();
  const auto before = latest_ring();
  const auto early = Device::open(path);
  for (int i = 0; i < 3; ++i) early.ring();

  const auto late = Device::open(path);
  CHECK_FALSE(readable(late));
  CHECK_FALSE(late.ack());
  late.ring();
  late.ring();
  CHECK(drain(late) == numbered(before + 4, 2));
  CHECK(drain(early) == numbered(before + 1, 5));
}

// The count belongs to the open file, not to the descriptor or the process.
TEST_CASE_METHOD(OneFile, "doorbell: descriptors of one open file share its rings", "[doorbell]") {
  device.ring();
  device.ring();

  CHECK(run_in_child([&] { return device.ack() == before + 1 ? 0 : 1; }) == ChildStatus::exited(0));
  CHECK(drain(device) == numbered(before + 2, 1));
}

TEST_CASE_METHOD(OneFile, "doorbell: select reports a pending ring and wakes for a new one",
                 "[doorbell]") {
  const int fd = device.fd();
  const auto select_readable = [fd](timeval* timeout) {
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    const int ready = ::select(fd + 1, &set, nullptr, nullptr, timeout);
    return ready == 1 && FD_ISSET(fd, &set);
  };
  timeval zero{0, 0};
  CHECK_FALSE(select_readable(&zero));
  device.ring();
  zero = {0, 0};
  CHECK(select_readable(&zero));
  zero = {0, 0};
  CHECK(select_readable(&zero));  // still pending: select() takes nothing
  CHECK(device.ack() == before + 1);
  zero = {0, 0};
  CHECK_FALSE(select_readable(&zero));

  const pid_t self = ::getpid();
  Child ringer{[&] {
    if (!wait_until_asleep_in(self, select_calls)) return 1;
    Device::open(path).ring();
    return 0;
  }};
  timeval ten_seconds{10, 0};
  CHECK(select_readable(&ten_seconds));
  CHECK(ringer.wait() == ChildStatus::exited(0));
  CHECK(device.ack() == before + 2);
}

int epoll_ready(const Fd& epoll, int timeout_ms) {
  epoll_event event{};
  return ::epoll_wait(epoll.get(), &event, 1, timeout_ms);
}

Fd watch_with_epoll(const Device& device, std::uint32_t events) {
  Fd epoll{::epoll_create1(EPOLL_CLOEXEC)};
  if (epoll.get() < 0) throw std::system_error(last_error(), "epoll_create1");
  epoll_event event{};
  event.events = events;
  event.data.fd = device.fd();
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, device.fd(), &event) != 0) {
    throw std::system_error(last_error(), "epoll_ctl");
  }
  return epoll;
}

TEST_CASE_METHOD(OneFile, "doorbell: level-triggered epoll reports a ring until it is acknowledged",
                 "[doorbell]") {
  const auto epoll = watch_with_epoll(device, EPOLLIN);

  CHECK(epoll_ready(epoll, 0) == 0);
  device.ring();
  CHECK(epoll_ready(epoll, 0) == 1);
  CHECK(epoll_ready(epoll, 0) == 1);  // level-triggered: still there
  CHECK(device.ack() == before + 1);
  CHECK(epoll_ready(epoll, 0) == 0);

  const pid_t self = ::getpid();
  Child ringer{[&] {
    if (!wait_until_asleep_in(self, epoll_calls)) return 1;
    Device::open(path).ring();
    return 0;
  }};
  CHECK(epoll_ready(epoll, 10000) == 1);
  CHECK(ringer.wait() == ChildStatus::exited(0));
  CHECK(device.ack() == before + 2);
  CHECK(epoll_ready(epoll, 0) == 0);
}

TEST_CASE_METHOD(OneFile, "doorbell: edge-triggered epoll reports each new ring once",
                 "[doorbell]") {
  const auto epoll = watch_with_epoll(device, EPOLLIN | EPOLLET);

  CHECK(epoll_ready(epoll, 0) == 0);
  device.ring();
  CHECK(epoll_ready(epoll, 0) == 1);
  CHECK(epoll_ready(epoll, 0) == 0);  // no new edge, though the ring is still pending
  CHECK(readable(device));
  device.ring();  // a new ring is a new edge, acknowledged or not
  CHECK(epoll_ready(epoll, 0) == 1);
  CHECK(epoll_ready(epoll, 0) == 0);
  CHECK(drain(device) == numbered(before + 1, 2));
  CHECK(epoll_ready(epoll, 0) == 0);
}

// The driver copies the number out before it claims the ring, so a fault
// claims nothing.
TEST_CASE_METHOD(OneFile, "doorbell: ACK with a bad pointer fails with EFAULT and takes no ring",
                 "[doorbell]") {
  const int fd = device.fd();
  const auto none = Region::reserve(page_size());  // PROT_NONE
  auto* const read_only = static_cast<std::byte*>(
      ::mmap(nullptr, page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(read_only != MAP_FAILED);
  const Region read_only_region{read_only, page_size()};

  // With nothing pending the answer is EAGAIN: the pointer is never used.
  CHECK(sys_error(::ioctl(fd, MMAPDEMO_IOC_ACK, none.data())) ==
        std::errc::resource_unavailable_try_again);

  device.ring();
  CHECK(sys_error(::ioctl(fd, MMAPDEMO_IOC_ACK, none.data())) == std::errc::bad_address);
  CHECK(sys_error(::ioctl(fd, MMAPDEMO_IOC_ACK, nullptr)) == std::errc::bad_address);
  CHECK(sys_error(::ioctl(fd, MMAPDEMO_IOC_ACK, read_only)) == std::errc::bad_address);
  CHECK(readable(device));
  CHECK(device.ack() == before + 1);
  CHECK_FALSE(device.ack());
}

// Two threads share one file's count: each ring goes to exactly one of them,
// both while rings are pending and while they are still coming.
TEST_CASE_METHOD(OneFile,
                 "doorbell: two threads acking one file get distinct rings that are all the rings",
                 "[doorbell]") {
  constexpr std::size_t rings = 1000;

  // Errors are counted rather than thrown: a throwing thread would terminate.
  std::atomic<int> errors{0};
  std::atomic<bool> rung{false};
  const auto acker = [&](std::vector<std::uint64_t>& got) {
    for (;;) {
      std::error_code ec;
      const bool done = rung.load();
      if (const auto number = device.wait_ring(10ms, ec)) {
        got.push_back(*number);
      } else if (ec) {
        ++errors;
        return;
      } else if (done) {
        return;  // everything rung before the last look has been taken
      }
    }
  };
  const auto check_union = [&](std::vector<std::uint64_t> a, const std::vector<std::uint64_t>& b,
                               std::uint64_t first) {
    CAPTURE(a.size(), b.size());
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    CHECK(diff_numbers(a, first, rings) == "");  // none twice, none missing
  };

  SECTION("rings pending before the threads start") {
    for (std::size_t i = 0; i < rings; ++i) device.ring();
    rung = true;
    std::vector<std::uint64_t> a;
    std::vector<std::uint64_t> b;
    {
      std::jthread one{[&] { acker(a); }};
      std::jthread two{[&] { acker(b); }};
    }
    CHECK(errors == 0);
    check_union(a, b, before + 1);
  }
  SECTION("rings coming while the threads ack") {
    std::vector<std::uint64_t> a;
    std::vector<std::uint64_t> b;
    {
      std::jthread one{[&] { acker(a); }};
      std::jthread two{[&] { acker(b); }};
      const auto own = Device::open(path);
      for (std::size_t i = 0; i < rings; ++i) own.ring();
      rung = true;
    }
    CHECK(errors == 0);
    check_union(a, b, before + 1);
  }
  CHECK_FALSE(device.ack());
}

}  // namespace
