// SPDX-License-Identifier: GPL-2.0
// The bounds scenario: which addresses of a mapping can be used. On a regular
// file shorter than the mapping, the file's last page works in full, the
// pages wholly past the end of the file raise SIGBUS, and past the mapping
// there is SIGSEGV. The device never gets as far as SIGBUS: a mapping past
// its buffer is refused.
#include <sys/mman.h>
#include <sys/stat.h>

#include <csignal>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/core.h>
#include <mmapdemo/mmapdemo.hpp>

#include "scenario.hpp"
#include "seed.hpp"

namespace mmapdemo::cli {

namespace {

constexpr std::size_t file_size = 100;

// Exactly file_size bytes of our own: a line of text padded with dots.
std::string file_text() {
  std::string text = "this file holds one hundred bytes, less than a page";
  text.resize(file_size - 1, '.');
  return text + '\n';
}

std::string what_happened(const ChildEnd& end, Access access) {
  if (end.kind == ChildEnd::Kind::killed) return "killed by " + signal_name(end.value);
  if (end.kind == ChildEnd::Kind::timed_out) return describe(end);
  if (access == Access::write) return "stored '9', no signal";
  return fmt::format("read {:#04x}, no signal", end.value);
}

}  // namespace

int seed_bounds(const std::string& path) {
  Story story{"bounds",
              "which bytes of a mapping can be used: a regular file shorter than its mapping, "
              "then the device"};
  const auto page = page_size();
  const std::string_view who = "parent";

  TempDir dir{"mmapdemo-bounds"};
  const auto file_path = dir.create("data");
  const auto file = Device::open(file_path);
  const auto text = file_text();
  file.write_all(std::as_bytes(std::span{text}), 0);
  say(who, "created {} with {} bytes, less than one page of {} bytes", file_path, file_size, page);

  // Three pages reserved, the file mapped over the first two: the third is
  // sure to hold nothing else, so an access there is past any mapping.
  auto range = base::Region::reserve(3 * page);
  range.map_over(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, file.fd(), 0, file_path);
  say(who, "mapped 2 pages of it (MAP_SHARED) at {}, and keeps the page after them PROT_NONE",
      static_cast<const void*>(range.data()));
  story.note(
      "the mapping is usable as far as the last page that holds part of the file: the "
      "article's p[st_size] lies in that page and works, while p[pagesize], which the article "
      "expects to raise SIGSEGV, is the first page wholly past the end of the file and raises "
      "SIGBUS; SIGSEGV starts past the mapping, at p[2 * pagesize]");

  struct Probe {
    std::string what;
    std::size_t offset;
    Access access;
    int signal;                // expected
    std::optional<int> value;  // expected for a read without a signal
  };
  const std::vector<Probe> probes{
      {"the last byte of the file", file_size - 1, Access::read, 0, '\n'},
      {"p[st_size], the first byte past the end of the file", file_size, Access::read, 0, 0},
      {"p[st_size] again", file_size, Access::write, 0, std::nullopt},
      {"the last byte of the file's page", page - 1, Access::read, 0, 0},
      {"p[pagesize], a page wholly past the end of the file", page, Access::read, SIGBUS,
       std::nullopt},
      {"p[pagesize] again", page, Access::write, SIGBUS, std::nullopt},
      {"p[2 * pagesize], the first byte past the mapping", 2 * page, Access::read, SIGSEGV,
       std::nullopt},
  };
  for (const auto& probe : probes) {
    const auto [pid, end] = cli::probe(range.data() + probe.offset, probe.access);
    const auto verb = probe.access == Access::read ? "read" : "wrote";
    say(who, "child {} {} p[{}], {}: {}", pid, verb, probe.offset, probe.what,
        what_happened(end, probe.access));
    const bool as_expected = probe.signal != 0 ? killed_by(end, probe.signal)
                             : probe.value     ? exited_with(end, *probe.value)
                                               : end.kind == ChildEnd::Kind::exited;
    const auto expected =
        probe.signal != 0
            ? signal_name(probe.signal)
            : (probe.value ? fmt::format("reads {:#04x} without a signal", *probe.value)
                           : std::string{"works without a signal"});
    story.check(as_expected, fmt::format("{} p[{}]: {}", verb, probe.offset, expected));
  }

  struct stat st {};
  const bool sized = ::fstat(file.fd(), &st) == 0;
  say(who, "the file now has {} bytes",
      sized ? std::to_string(st.st_size) : "an unknown number of");
  story.check(sized && static_cast<std::size_t>(st.st_size) == file_size,
              "a store past the end of the file, inside its last page, does not make the file "
              "longer");

  // The device: its mappings end at the buffer's end, so there is no page
  // past the end of the "file" to raise SIGBUS.
  const auto device = Device::open(path);
  const auto size = device.info().size;
  std::error_code ec;
  (void)Mapping::map(device, size + page, 0, Protection::read_write, Sharing::shared, ec);
  say(who, "asked for {} bytes of {}, one page more than its buffer: {}", size + page, path,
      ec ? ec.message() : std::string{"mapped"});
  story.check(ec == std::errc::invalid_argument,
              "a device mapping longer than the buffer is refused with EINVAL");
  (void)Mapping::map(device, page, size, Protection::read_write, Sharing::shared, ec);
  say(who, "asked for one page at offset {}, the end of the buffer: {}", size,
      ec ? ec.message() : std::string{"mapped"});
  story.check(ec == std::errc::invalid_argument,
              "a device mapping that starts at the end of the buffer is refused with EINVAL");

  auto last = base::Region::reserve(2 * page);
  last.map_over(page, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd(), size - page, path);
  say(who, "mapped the buffer's last page at {}, with a PROT_NONE page after it",
      static_cast<const void*>(last.data()));
  const auto inside = probe(last.data() + page - 1, Access::read);
  say(who, "child {} read the mapping's last byte: {}", inside.pid,
      what_happened(inside.end, Access::read));
  story.check(inside.end.kind == ChildEnd::Kind::exited,
              "the last byte of the buffer reads without a signal");
  const auto after = probe(last.data() + page, Access::read);
  say(who, "child {} read the byte after the mapping: {}", after.pid,
      what_happened(after.end, Access::read));
  story.check(killed_by(after.end, SIGSEGV), "the byte after a device mapping raises SIGSEGV");
  return story.verdict();
}

}  // namespace mmapdemo::cli
