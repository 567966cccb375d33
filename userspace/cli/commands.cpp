// SPDX-License-Identifier: GPL-2.0
#include "commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <span>
#include <system_error>
#include <vector>

#include <fmt/core.h>
#include <mmapdemo/base/io.hpp>
#include <mmapdemo/mmapdemo.hpp>

#include "format.hpp"
#include "scenario.hpp"

namespace mmapdemo::cli {

namespace {

using std::chrono::milliseconds;

// The buffer's size; a regular file, which stands in for the device in the
// host's tests, has its length instead.
std::uint64_t buffer_size(const Device& device) {
  struct stat st {};
  if (::fstat(device.fd(), &st) == 0 && S_ISREG(st.st_mode)) {
    return static_cast<std::uint64_t>(st.st_size);
  }
  return device.info().size;
}

// Throws EINVAL unless [offset, offset + length) lies inside the buffer: a
// mapping of the device would refuse it, but one of a regular file would
// map it and then raise SIGBUS.
void check_inside(std::string_view what, const Device& device, std::uint64_t offset,
                  std::uint64_t length) {
  const auto size = buffer_size(device);
  if (offset > size || length > size - offset) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            fmt::format("{} {} (offset {}, length {}; the buffer has {} bytes)",
                                        what, device.path(), offset, length, size));
  }
}

// A mapping of [offset, offset + length), which need not be page-aligned:
// the mapping starts at the page that holds offset.
class Window {
 public:
  Window(const Device& device, std::uint64_t offset, std::uint64_t length, Protection protection) {
    const std::uint64_t page = page_size();
    const auto start = offset / page * page;
    mapping_ =
        Mapping::map(device, static_cast<std::size_t>(offset + length - start), start, protection);
    bytes_ = mapping_.bytes().subspan(static_cast<std::size_t>(offset - start));
  }

  [[nodiscard]] std::span<std::byte> bytes() const noexcept { return bytes_; }
  // Unmaps now, so that a failure is reported rather than ignored.
  void close() { mapping_.unmap(); }

 private:
  Mapping mapping_;
  std::span<std::byte> bytes_;
};

std::string plural(std::uint64_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

int info(const std::string& path) {
  const auto device = Device::open(path, O_RDONLY);
  const auto info = device.info();
  fmt::print(
      "device:     {}\n"
      "size:       {} bytes ({} pages)\n"
      "page size:  {} bytes\n"
      "backend:    {}\n"
      "strategy:   {} (default for new files: {})\n",
      path, info.size, info.page_size != 0 ? info.size / info.page_size : 0, info.page_size,
      to_string(info.backend), to_string(info.strategy), to_string(info.default_strategy));
  return 0;
}

int read(const std::string& path, const ReadOptions& options) {
  const auto device = Device::open(path, O_RDONLY);
  // In chunks: --length may be as large as the buffer, or larger.
  std::vector<std::byte> chunk(std::min<std::uint64_t>(options.length, 65536));
  Hexdump dump{stdout, options.offset};
  std::uint64_t done = 0;
  while (done < options.length) {
    const auto want = std::min<std::uint64_t>(chunk.size(), options.length - done);
    const auto n = device.pread(std::span{chunk}.first(want), options.offset + done);
    if (n == 0) break;
    const auto bytes = std::span{chunk}.first(n);
    if (options.raw) {
      std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    } else {
      dump.feed(bytes);
    }
    done += n;
  }
  if (!options.raw) dump.finish();
  if (done < options.length) {
    std::fflush(stdout);
    fmt::print(stderr, "mmapdemo: read {}: end of file after {} of {}\n", path,
               plural(done, "byte"), plural(options.length, "byte"));
  }
  return 0;
}

int write(const std::string& path, const WriteOptions& options) {
  const auto device = Device::open(path, O_WRONLY);
  std::vector<std::byte> data;
  if (options.data) {
    const auto bytes = std::as_bytes(std::span{*options.data});
    data.assign(bytes.begin(), bytes.end());
  } else {
    data = base::read_to_end(STDIN_FILENO, "read standard input");
  }
  // A write across the end of the buffer is short; the next one then fails
  // with ENOSPC, which is the error to report.
  device.write_all(data, options.offset);
  fmt::print("wrote {} at offset {} of {}", plural(data.size(), "byte"), options.offset, path);
  if (options.ring) device.ring();
  fmt::print("{}\n", options.ring ? ", and rang the doorbell" : "");
  return 0;
}

int fill(const std::string& path, const FillOptions& options) {
  const auto device = Device::open(path);
  const auto size = buffer_size(device);
  const auto length = options.length.value_or(options.offset < size ? size - options.offset : 0);
  check_inside("fill", device, options.offset, length);
  // Through a mapping, where write does write(): both reach the same bytes.
  if (length != 0) {
    Window window{device, options.offset, length, Protection::read_write};
    const auto bytes = window.bytes();
    if (options.byte) {
      std::fill(bytes.begin(), bytes.end(), static_cast<std::byte>(*options.byte));
    } else {
      const auto pattern = std::as_bytes(std::span{*options.pattern});
      for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = pattern[i % pattern.size()];
    }
    window.close();
  }
  const auto with = options.byte
                        ? fmt::format("byte {:#04x}", *options.byte)
                        : "pattern " + quoted_text(std::as_bytes(std::span{*options.pattern}));
  fmt::print("filled {} at offset {} of {} with {}", plural(length, "byte"), options.offset, path,
             with);
  if (options.ring) device.ring();
  fmt::print("{}\n", options.ring ? ", and rang the doorbell" : "");
  return 0;
}

int watch(const std::string& path, const WatchOptions& options) {
  using clock = std::chrono::steady_clock;
  // Opened before anything is printed: this file sees every ring made after
  // the "watching" line, which is what a script waits for before ringing.
  const auto device = Device::open(path, O_RDONLY);
  const Window window{device, options.offset, options.length, Protection::read_only};
  fmt::print("watching {} offset {} length {} (pid {}); waiting for {}\n", path, options.offset,
             options.length, ::getpid(),
             options.count != 0 ? plural(options.count, "ring") : "rings");

  // A copy first: the other process may be changing the bytes as they print.
  std::vector<std::byte> shown(window.bytes().begin(), window.bytes().end());
  const auto show = [&](const std::string& label, bool unchanged) {
    const auto note = unchanged ? " (unchanged)" : "";
    if (options.hex) {
      fmt::print("{}:{}\n", label, note);
      Hexdump dump{stdout, options.offset};
      dump.feed(shown);
      dump.finish();
    } else {
      fmt::print("{}: {}{}\n", label, quoted_text(shown), note);
    }
  };
  show("now", false);

  const auto deadline = options.timeout ? clock::now() + *options.timeout : clock::time_point{};
  std::uint64_t rings = 0;
  while (options.count == 0 || rings < options.count) {
    auto left = milliseconds{-1};
    if (options.timeout) {
      left =
          std::max(milliseconds::zero(), std::chrono::ceil<milliseconds>(deadline - clock::now()));
    }
    const auto number = device.wait_ring(left);
    if (!number) {
      if (options.count == 0) return 0;  // watched for as long as asked
      fmt::print(stderr, "mmapdemo: watch {}: {} of {} within {} ms\n", path, rings,
                 plural(options.count, "ring"), options.timeout->count());
      return 1;
    }
    ++rings;
    const std::vector<std::byte> now(window.bytes().begin(), window.bytes().end());
    const bool unchanged = now == shown;
    shown = now;
    show(fmt::format("ring {}", *number), unchanged);
  }
  return 0;
}

int ring(const std::string& path, std::uint64_t count) {
  const auto device = Device::open(path, O_RDONLY);
  for (std::uint64_t i = 0; i < count; ++i) device.ring();
  fmt::print("rang {} {}\n", path, plural(count, "time"));
  return 0;
}

int resize(const std::string& path, std::uint64_t size) {
  const auto device = Device::open(path);
  const auto before = device.info().size;
  device.resize(size);
  const auto info = device.info();
  fmt::print("resized {} from {} to {} bytes ({} pages)\n", path, before, info.size,
             info.page_size != 0 ? info.size / info.page_size : 0);
  return 0;
}

}  // namespace mmapdemo::cli
