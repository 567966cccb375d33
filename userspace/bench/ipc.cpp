// SPDX-License-Identifier: GPL-2.0
// Part 4, IPC ping-pong between a parent and its forked child: a message of
// N bytes there and back, through the device mapping (spinning on an atomic
// flag, or sleeping on the doorbell), a memfd mapping (spinning), a pipe
// pair and a unix stream socket pair. msgs/s counts one-way messages.
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>
#include <mmapdemo/base/child.hpp>
#include <mmapdemo/base/io.hpp>

#include "parts.hpp"

namespace mmapdemo::bench {

namespace {

using Figures = std::vector<std::pair<std::string, double>>;
using namespace std::chrono_literals;

// The flag sits in its own cache line before the payload.
constexpr std::size_t payload_offset = 64;
constexpr std::size_t max_message = 64 * KiB;
constexpr std::size_t region_size = payload_offset + max_message;
constexpr std::int64_t stuck_ns = 30'000'000'000;  // a peer this silent has died

// Each sample runs for this long: under TCG a pipe round trip can take
// milliseconds, a spin round trip microseconds.
constexpr std::int64_t sample_ns = 25'000'000;

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A whole message over a pipe or socket, or an exception.
void write_full(int fd, std::span<const std::byte> bytes) {
  if (!base::write_fully(fd, bytes)) fail("write");
}

void read_full(int fd, std::span<std::byte> bytes) {
  std::error_code ec;
  if (base::read_to_end(fd, bytes, ec) == bytes.size()) return;
  if (ec) throw std::system_error(ec, "read");
  throw std::runtime_error("read: peer closed");
}

// Spins until flag holds want. Yields now and then: with fewer vCPUs than
// spinners the peer needs the CPU to make progress.
void spin_until(std::atomic_ref<std::uint32_t> flag, std::uint32_t want) {
  const auto start = now_ns();
  for (std::uint32_t n = 1;; ++n) {
    if (flag.load(std::memory_order_acquire) == want) return;
    if (n % 1024 == 0) {
      sched_yield();
      if (now_ns() - start > stuck_ns) throw std::runtime_error("ipc: the peer stopped answering");
    }
  }
}

// One side of a ping-pong: trip(i) does round trip i.
using Side = std::function<void(std::size_t)>;

// Forks; the child answers round trips until it is killed, the parent
// times its side's trips from 1 on (trip 0 warms up, and waits for the child
// to start) for sample_ns. A fixed time rather than a fixed count keeps the
// slow variants from dominating the run. Returns one-way messages per second.
double ping_pong(const Side& parent_side, const Side& child_side) {
  // The child answers until it is killed: ~Child kills and reaps it.
  base::Child child{[&child_side]() -> int {
    for (std::size_t i = 0;; ++i) child_side(i);
  }};
  try {
    parent_side(0);
    const auto start = now_ns();
    std::size_t trips = 0;
    std::int64_t ns = 0;
    while (ns < sample_ns) {
      parent_side(++trips);
      ns = now_ns() - start;
    }
    return 2.0 * static_cast<double>(trips) / (static_cast<double>(ns) / 1e9);
  } catch (const std::exception& e) {
    // A child that failed has left its reason; one still running is killed.
    const auto end = child.wait(100ms);
    throw std::runtime_error(fmt::format("{} (the child {})", e.what(), base::describe(end)));
  }
}

struct Messages {
  std::vector<std::byte> out;
  std::vector<std::byte> in;
  explicit Messages(std::size_t size) : out(size, std::byte{0x42}), in(size) {}
};

// Spinning on a flag in shared memory that both processes see (mapped before fork()).
double spin_sample(std::span<std::byte> shared, std::size_t size) {
  auto* flag_word = reinterpret_cast<std::uint32_t*>(shared.data());
  *flag_word = 0;
  const std::atomic_ref<std::uint32_t> flag{*flag_word};
  const auto payload = shared.subspan(payload_offset, size);
  Messages m{size};
  const auto parent = [&](std::size_t i) {
    const auto odd = static_cast<std::uint32_t>(2 * i + 1);
    std::memcpy(payload.data(), m.out.data(), size);
    flag.store(odd, std::memory_order_release);
    spin_until(flag, odd + 1);
    std::memcpy(m.in.data(), payload.data(), size);
  };
  const auto child = [&](std::size_t i) {
    const auto odd = static_cast<std::uint32_t>(2 * i + 1);
    spin_until(flag, odd);
    std::memcpy(m.in.data(), payload.data(), size);
    std::memcpy(payload.data(), m.out.data(), size);
    flag.store(odd + 1, std::memory_order_release);
  };
  return ping_pong(parent, child);
}

void expect_ring(const Device& file) {
  if (!file.wait_ring(30s)) throw std::runtime_error("ipc: no ring within 30 s");
}

// The doorbell: each side has its own open file, and every file sees every
// ring, its own included; so per round trip each side takes two rings.
double doorbell_sample(const Config& config, Strategy strategy, std::size_t size) {
  const auto parent_file = open_with(config.device, strategy);
  auto mapping = Mapping::map(parent_file, region_size);
  const auto payload = mapping.bytes().subspan(payload_offset, size);
  Messages m{size};
  auto ready = base::make_pipe();  // captured below: not a structured binding
  Device child_file;               // opened in the child, before it says it is ready
  const auto parent = [&](std::size_t i) {
    if (i == 0) {
      ready.write.reset();
      std::byte b{};
      read_full(ready.read.get(), std::span{&b, 1});
    }
    std::memcpy(payload.data(), m.out.data(), size);
    parent_file.ring();
    expect_ring(parent_file);  // its own
    expect_ring(parent_file);  // the reply
    std::memcpy(m.in.data(), payload.data(), size);
  };
  const auto child = [&](std::size_t i) {
    if (i == 0) {
      child_file = open_with(config.device, strategy);
      const std::byte b{1};
      write_full(ready.write.get(), std::span{&b, 1});
    }
    expect_ring(child_file);  // the parent's
    std::memcpy(m.in.data(), payload.data(), size);
    std::memcpy(payload.data(), m.out.data(), size);
    child_file.ring();
    expect_ring(child_file);  // its own
  };
  return ping_pong(parent, child);
}

// A pipe pair or a socket pair: fds[0] is the parent's end, fds[1] the child's.
double stream_sample(int parent_fd_read, int parent_fd_write, int child_fd_read, int child_fd_write,
                     std::size_t size) {
  Messages m{size};
  const auto parent = [&](std::size_t) {
    write_full(parent_fd_write, m.out);
    read_full(parent_fd_read, m.in);
  };
  const auto child = [&](std::size_t) {
    read_full(child_fd_read, m.in);
    write_full(child_fd_write, m.out);
  };
  return ping_pong(parent, child);
}

double pipe_sample(std::size_t size) {
  const auto down = base::make_pipe();
  const auto up = base::make_pipe();
  return stream_sample(up.read.get(), down.write.get(), down.read.get(), up.write.get(), size);
}

double socket_sample(std::size_t size) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fail("socketpair");
  const Fd s0{sv[0]};
  const Fd s1{sv[1]};
  return stream_sample(s0.get(), s0.get(), s1.get(), s1.get(), size);
}

Figures rate(double msgs) { return {{"msgs/s", msgs}}; }

}  // namespace

void ipc(Results& results, const Config& config) {
  const auto memfd = make_memfd(region_size);
  auto memfd_region = Region::of_fd(memfd.get(), region_size, true);

  std::vector<Mapping> mappings;
  std::vector<Device> files;
  for (const auto strategy : config.strategies) {
    files.push_back(open_with(config.device, strategy));
    mappings.push_back(Mapping::map(files.back(), region_size));
  }

  for (const std::size_t size : {std::size_t{100}, 1 * KiB, 64 * KiB}) {
    progress(fmt::format("ipc {} {}", config.backend.empty() ? "host" : config.backend,
                         size_label(size)));
    std::vector<Variant> variants{{"pipe", "", [size] { return rate(pipe_sample(size)); }},
                                  {"socket", "", [size] { return rate(socket_sample(size)); }},
                                  {"memfd-spin", "", [&memfd_region, size] {
                                     return rate(spin_sample(memfd_region.bytes(), size));
                                   }}};
    for (std::size_t s = 0; s < mappings.size(); ++s) {
      const auto strategy = config.strategies[s];
      const auto name = strategy_name(strategy);
      auto* mapping = &mappings[s];
      variants.push_back({name + "-spin", config.backend,
                          [mapping, size] { return rate(spin_sample(mapping->bytes(), size)); }});
      variants.push_back({name + "-doorbell", config.backend, [&config, strategy, size] {
                            return rate(doorbell_sample(config, strategy, size));
                          }});
    }
    compare(results, {"ipc", "ping-pong", size, "pipe", true}, variants, config.reps);
  }
}

}  // namespace mmapdemo::bench
