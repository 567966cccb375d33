// SPDX-License-Identifier: GPL-2.0
// The seed scenarios about sharing: a shared and a private write, a parent
// and its child, two unrelated processes woken by the doorbell.
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <mmapdemo/mmapdemo.hpp>

#include "format.hpp"
#include "scenario.hpp"
#include "seed.hpp"

namespace mmapdemo::cli {

namespace {

using namespace std::chrono_literals;

// What shared-write and private-write start from: four lines of ten bytes,
// so offset 20 is the first letter of the third line.
constexpr std::string_view sample = "apples...\nbananas..\ncherries.\ndates....\n";
constexpr std::size_t changed_offset = 20;

// Room for the messages of parent-child and two-process at offset 0.
constexpr std::size_t message_capacity = 128;

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span{text.data(), text.size()});
}

std::string as_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The NUL-terminated text at the start of region.
std::string message(std::span<const std::byte> region) {
  const auto text = region.first(std::min(region.size(), message_capacity));
  return as_string({text.begin(), std::find(text.begin(), text.end(), std::byte{0})});
}

void post(std::span<std::byte> region, std::string_view text) {
  const auto room = region.first(message_capacity);
  std::fill(room.begin(), room.end(), std::byte{0});
  std::copy_n(as_bytes(text).begin(), std::min(text.size(), message_capacity - 1), room.begin());
}

std::string read_text(const Device& device, std::size_t length) {
  std::vector<std::byte> bytes(length);
  bytes.resize(device.pread(bytes, 0));
  return as_string(bytes);
}

// Text that may hold newlines, one indented line per line.
void show_lines(std::string_view text) {
  while (!text.empty()) {
    const auto end = std::min(text.find('\n'), text.size());
    fmt::print("    | {}\n", text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  std::fflush(stdout);
}

std::string expected_after_change() {
  std::string text{sample};
  text[changed_offset] = '9';
  return text;
}

}  // namespace

int seed_shared_write(const std::string& path) {
  Story story{"shared-write",
              "store one byte through a MAP_SHARED mapping of the device; read() sees it"};
  const std::string_view who = "process";
  Device::open(path).write_all(as_bytes(sample), 0);
  say(who, "wrote {} bytes of sample text at offset 0 of {} with write()", sample.size(), path);

  auto device = Device::open(path);
  auto mapping = Mapping::map(device, sample.size());
  say(who, "mapped {} bytes of {} (MAP_SHARED, read and write) at {}", mapping.size(), path,
      static_cast<const void*>(mapping.data()));
  device.close();
  say(who, "closed the file: the mapping holds it open for as long as it lasts");
  say(who, "sees through the mapping:");
  show_lines(as_string(mapping.bytes()));

  mapping.bytes()[changed_offset] = std::byte{'9'};
  say(who, "stored '9' at offset {} of the mapping", changed_offset);
  const auto reader = Device::open(path, O_RDONLY);
  story.check(read_text(reader, sample.size()) == expected_after_change(),
              "read() through another file sees the '9' at once, before any msync()");

  // The device has no fsync method, so the kernel answers MS_SYNC with
  // EINVAL; there is nothing to write back anyway.
  const int synced = ::msync(mapping.data(), mapping.size(), MS_SYNC);
  const int sync_errno = errno;
  say(who, "msync(MS_SYNC): {}",
      synced == 0 ? std::string{"done"} : std::string{std::strerror(sync_errno)});
  story.check(synced == 0 || sync_errno == EINVAL,
              "msync(MS_SYNC) on the device fails with EINVAL (the driver has no fsync): the "
              "mapping is the buffer itself, there is no copy to write back");
  story.check(::msync(mapping.data(), mapping.size(), MS_ASYNC) == 0,
              "msync(MS_ASYNC) succeeds: it only schedules a write-back, of nothing");

  mapping.unmap();
  say(who, "unmapped it");
  const auto after = read_text(reader, sample.size());
  say(who, "read() returns:");
  show_lines(after);
  story.check(after == expected_after_change(),
              "after munmap() the device holds the sample with its third line now starting "
              "with '9'");
  return story.verdict();
}

int seed_private_write(const std::string& path) {
  Story story{"private-write",
              "store one byte through a MAP_PRIVATE mapping: a private copy, the device does not "
              "change"};
  const std::string_view who = "process";
  Device::open(path).write_all(as_bytes(sample), 0);
  say(who, "wrote {} bytes of sample text at offset 0 of {} with write()", sample.size(), path);

  {
    auto remap = Device::open(path);
    remap.set_strategy(Strategy::remap);
    std::error_code ec;
    const auto refused =
        Mapping::map(remap, sample.size(), 0, Protection::read_write, Sharing::private_copy, ec);
    say(who, "a file with the remap strategy asked for MAP_PRIVATE: {}",
        ec ? ec.message() : std::string{"mapped"});
    story.check(ec == std::errc::invalid_argument,
                "the remap strategy refuses MAP_PRIVATE with EINVAL: remap_pfn_range() maps page "
                "frames, which the kernel cannot copy on write");
  }

  auto device = Device::open(path);
  device.set_strategy(Strategy::fault);
  say(who,
      "chose the fault strategy for its file: pages arrive one by one from the fault "
      "handler, so the kernel can copy one on write");
  auto mapping =
      Mapping::map(device, sample.size(), 0, Protection::read_write, Sharing::private_copy);
  device.close();
  say(who, "mapped {} bytes of {} (MAP_PRIVATE, read and write) at {} and closed the file",
      mapping.size(), path, static_cast<const void*>(mapping.data()));
  say(who, "sees through the mapping:");
  show_lines(as_string(mapping.bytes()));

  mapping.bytes()[changed_offset] = std::byte{'9'};
  say(who, "stored '9' at offset {} of the mapping", changed_offset);
  story.check(as_string(mapping.bytes()) == expected_after_change(),
              "the mapping shows the '9': the process's own copy of the page");
  story.check(::msync(mapping.data(), mapping.size(), MS_SYNC) == 0,
              "msync(MS_SYNC) succeeds and writes nothing: a private page has no file to go to");

  const auto reader = Device::open(path, O_RDONLY);
  const auto seen = read_text(reader, sample.size());
  say(who, "read() of the device returns:");
  show_lines(seen);
  story.check(seen == sample, "the device still holds the sample unchanged");
  const auto shared = Mapping::map(reader, sample.size(), 0, Protection::read_only);
  story.check(as_string(shared.bytes()) == sample,
              "a MAP_SHARED mapping of the device shows the unchanged sample too");

  mapping.unmap();
  say(who, "unmapped the private mapping: its copy is gone");
  story.check(read_text(reader, sample.size()) == sample,
              "after munmap() the device still holds the unchanged sample");
  return story.verdict();
}

int seed_parent_child(const std::string& path) {
  Story story{"parent-child",
              "a parent and the child it forks talk through one shared mapping of the device"};
  story.note(
      "the article shares an anonymous MAP_SHARED mapping and paces the exchange with "
      "sleep(); here the mapping is of the device, and the parent waits for the child with "
      "waitpid()");

  const auto device = Device::open(path);
  auto mapping = Mapping::map(device, page_size());
  const auto greeting = fmt::format("greetings from your parent, pid {}", ::getpid());
  post(mapping.bytes(), greeting);
  say("parent", "mapped the first page of {} (MAP_SHARED) at {} and wrote {:?}", path,
      static_cast<const void*>(mapping.data()), greeting);

  say("parent", "forks a child, which inherits the mapping");
  base::Child child{[&] {
    const auto seen = message(mapping.bytes());
    say("child", "reads {:?} from the mapping it inherited", seen);
    const auto reply = fmt::format("thanks, parent; this is your child, pid {}", ::getpid());
    post(mapping.bytes(), reply);
    say("child", "wrote {:?}, unmaps its copy of the mapping and exits", reply);
    mapping.unmap();
    return seen == greeting ? 0 : 1;
  }};
  const pid_t pid = child.pid();
  say("parent", "waits for its child, pid {}, to exit", pid);
  const auto end = child.wait(child_timeout);
  say("parent", "the child {}", describe(end));
  story.check(exited_with(end, 0), "the child read the parent's message from its mapping");

  const auto expected = fmt::format("thanks, parent; this is your child, pid {}", pid);
  const auto reply = message(mapping.bytes());
  say("parent", "reads {:?} from its mapping", reply);
  story.check(reply == expected, "the parent sees the child's reply in its own mapping");
  std::array<std::byte, message_capacity> through_read{};
  (void)device.pread(through_read, 0);
  story.check(message(through_read) == expected,
              "read() of the device returns the reply too: both mappings are the device's buffer");
  return story.verdict();
}

namespace {

// B is this same program, started afresh so that it inherits neither the
// mapping nor the open file: it reaches the buffer only through the device.
base::Child start_b(const std::string& path) {
  return base::Child{[&] {
    std::array<const char*, 8> argv{"mmapdemo",    "--device", path.c_str(), "seed",
                                    "two-process", "--role",   "b",          nullptr};
    ::execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
    base::Child::say(fmt::format("exec /proc/self/exe: {}", std::strerror(errno)));
    return 127;
  }};
}

int run_a(const std::string& path, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  Story story{"two-process",
              "process A sleeps on the doorbell; process B, started on its own, writes a "
              "message into the buffer and rings"};
  // Opened before B exists, so that this file is sure to see B's ring.
  const auto device = Device::open(path);
  auto mapping = Mapping::map(device, page_size());
  const auto hello = fmt::format("hello from A (pid {})", ::getpid());
  post(mapping.bytes(), hello);
  say("A", "opened {}, mapped its first page (MAP_SHARED) at {} and wrote {:?}", path,
      static_cast<const void*>(mapping.data()), hello);

  const auto started = clock::now();
  auto b = start_b(path);
  const pid_t b_pid = b.pid();
  say("A", "started B (pid {}); now asleep in poll() on its own file until a ring", b_pid);
  const auto ring = device.wait_ring(timeout);
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  const auto seen = message(mapping.bytes());
  if (ring) {
    say("A", "woke {} ms after starting B and acknowledged ring {}; the mapping holds {:?}",
        waited.count(), *ring, seen);
  } else {
    say("A", "no ring within {} ms; the mapping holds {:?}", timeout.count(), seen);
  }
  const auto end = b.wait(child_timeout);
  say("A", "B (pid {}) {}", b_pid, describe(end));

  story.check(ring.has_value(), "A slept until B rang the doorbell, without polling the buffer");
  story.check(seen == fmt::format("hello from B (pid {})", b_pid),
              "A sees B's message in its own mapping");
  story.check(exited_with(end, 0), "B saw A's message in its mapping and exited with status 0");
  story.check(!device.ack().has_value(), "A has no ring left to acknowledge: B rang once");
  return story.verdict();
}

int run_b(const std::string& path) {
  const auto device = Device::open(path);
  auto mapping = Mapping::map(device, page_size());
  say("B", "opened {} on its own and mapped its first page (MAP_SHARED) at {}", path,
      static_cast<const void*>(mapping.data()));
  const auto seen = message(mapping.bytes());
  say("B", "sees {:?}", seen);
  const auto hello = fmt::format("hello from B (pid {})", ::getpid());
  post(mapping.bytes(), hello);
  say("B", "wrote {:?}", hello);
  device.ring();
  say("B", "rang the doorbell; exits");
  return seen.starts_with("hello from A") ? 0 : 1;
}

}  // namespace

int seed_two_process(const std::string& path, Role role, std::chrono::milliseconds timeout) {
  return role == Role::a ? run_a(path, timeout) : run_b(path);
}

}  // namespace mmapdemo::cli
