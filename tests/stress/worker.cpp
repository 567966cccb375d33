// SPDX-License-Identifier: GPL-2.0
// One worker of mmapdemo-stress: random operations on its own slice of the
// buffer, each result checked against a model of what the slice holds and
// every refused call against its documented errno.
//
// What the model has to know about the kernel (the same on 6.1 and 6.12,
// with both backends):
//  - remap mappings are VM_PFNMAP: MADV_DONTNEED, MADV_COLD and MADV_PAGEOUT
//    fail with EINVAL on them. On fault mappings they succeed; DONTNEED drops
//    the page table entries, so a shared page re-faults unchanged and a
//    private copy is discarded: the page shows the buffer again.
//  - MADV_WILLNEED succeeds on every mapping and changes nothing.
//  - msync(MS_SYNC) of a VM_SHARED mapping fails with EINVAL (the device has
//    no fsync). MAP_SHARED of an O_RDONLY file is not VM_SHARED, so there it
//    succeeds, as on private mappings; MS_ASYNC always succeeds.
//  - mremap() shrinks and moves every mapping; growing fails with EFAULT
//    (VM_DONTEXPAND; VM_PFNMAP too for remap), MREMAP_DONTUNMAP with EINVAL.
//  - A private page is copied on its first write and keeps the copy; until
//    then it shows the buffer. Copies move with mremap() and stay the
//    parent's whatever a forked child writes.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <random>
#include <span>
#include <vector>

#include <fmt/core.h>
#include <mmapdemo/mmapdemo.hpp>

#include "stress.hpp"

namespace mmapdemo::stress {

namespace {

constexpr std::size_t max_files = 6;
constexpr std::size_t max_maps = 8;
constexpr int exit_failed = 1;

std::string errno_name(int err) {
  const char* name = err == 0 ? "success" : strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

// errno of a call, given whether it failed.
int error_of(bool failed) { return failed ? errno : 0; }

// Deterministic per seed and stream on every build of this program: the
// engine is exactly specified, and a plain modulo replaces the standard
// distributions, whose algorithms are left to the library.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) {
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                      static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)};
    engine_.seed(seq);
  }
  std::uint64_t next() { return engine_(); }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(below(n)); }
  bool chance(unsigned percent) { return below(100) < percent; }

 private:
  std::mt19937_64 engine_;
};

// Bytes from one 64-bit number (splitmix64): a forked child and its parent
// make the same data from it.
std::vector<std::byte> pattern(std::uint64_t seed, std::size_t length) {
  std::vector<std::byte> out(length);
  for (auto& b : out) {
    std::uint64_t z = seed += 0x9e3779b97f4a7c15;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    b = static_cast<std::byte>(z ^ (z >> 31));
  }
  return out;
}

struct File {
  Device device;
  Strategy strategy;
  bool writable;        // O_RDWR, else O_RDONLY
  bool mapped = false;  // an mmap() succeeded: the strategy is fixed
  std::uint64_t last_ack = 0;
};

struct Map {
  Region region;
  std::uint64_t offset;  // of the first byte in the buffer
  Strategy strategy;
  bool is_private;
  bool may_write;  // VM_MAYWRITE: not for MAP_SHARED of an O_RDONLY file
  bool writable;   // the protection now includes PROT_WRITE
  // Private pages written so far (page in the mapping -> its bytes); the
  // other pages show the buffer.
  std::map<std::size_t, std::vector<std::byte>> copies;
};

// One thing a forked child does. The parent draws them before fork(), so it
// knows what the child wrote.
struct ChildStep {
  enum class Kind { check, write_shared, write_private, pwrite } kind;
  std::size_t target;    // map, or file for pwrite
  std::uint64_t offset;  // in the mapping, or in the buffer for pwrite
  std::size_t length;
  std::uint64_t pattern;  // seed of the bytes written
};

class Worker {
 public:
  Worker(const Config& config, const Geometry& geometry, unsigned index, Stats& stats)
      : config_{config},
        info_{geometry.info},
        page_{geometry.info.page_size},
        index_{index},
        begin_{geometry.slice_bytes * index},
        end_{begin_ + geometry.slice_bytes},
        stats_{stats},
        rng_{config.seed, index} {}

  int run();

 private:
  // --- Reporting ---------------------------------------------------------------

  template <class... Args>
  void note(fmt::format_string<Args...> format, Args&&... args) {
    if (config_.verbose) {
      fmt::print("w{} #{} {}: {}\n", index_, op_, op_name(op_kind_),
                 fmt::format(format, std::forward<Args>(args)...));
    }
  }

  // Counts a failure, prints it in one write (workers share stderr), and ends
  // the worker after this operation: a model that is wrong once stays wrong.
  template <class... Args>
  bool fail(std::uint64_t& counter, fmt::format_string<Args...> format, Args&&... args) {
    ++counter;
    failed_ = true;
    fmt::print(stderr, "mmapdemo-stress: FAIL seed {} worker {}{} op #{} ({}): {}\n", config_.seed,
               index_, in_child_ ? " (forked child)" : "", op_, op_name(op_kind_),
               fmt::format(format, std::forward<Args>(args)...));
    return false;
  }

  bool expect(int got, int want, std::string_view what) {
    return got == want || fail(stats_.unexpected, "{}: expected {}, got {}", what, errno_name(want),
                               errno_name(got));
  }

  bool expect_count(std::size_t got, std::size_t want, std::string_view what) {
    return got == want || fail(stats_.unexpected, "{}: {} bytes, expected {}", what, got, want);
  }

  bool compare(const std::byte* actual, const std::byte* expected, std::size_t length,
               std::uint64_t offset, std::string_view how) {
    const auto at =
        static_cast<std::size_t>(std::mismatch(actual, actual + length, expected).first - actual);
    if (at == length) return true;
    std::size_t differing = 0;
    for (std::size_t i = at; i < length; ++i) differing += actual[i] != expected[i] ? 1 : 0;
    return fail(stats_.mismatches,
                "{}: buffer offset {:#x}: expected {:#04x}, actual {:#04x} ({} of {} bytes differ)",
                how, offset + at, std::to_integer<unsigned>(expected[at]),
                std::to_integer<unsigned>(actual[at]), differing, length);
  }

  // --- The model ---------------------------------------------------------------

  [[nodiscard]] bool own(std::uint64_t offset) const { return offset >= begin_ && offset < end_; }
  std::byte* model_at(std::uint64_t offset) { return model_.data() + (offset - begin_); }

  // Calls f(offset in m, expected bytes, length) for each run of the bytes
  // [offset, offset + length) of m that the model knows: private copies, and
  // the own slice elsewhere. Other workers' bytes are unknown.
  template <class F>
  void known_runs(const Map& m, std::size_t offset, std::size_t length, F f) {
    for (std::size_t pos = offset; pos < offset + length;) {
      const std::size_t page = pos / page_;
      const std::size_t run_end = std::min(offset + length, (page + 1) * page_);
      if (auto copy = m.copies.find(page); copy != m.copies.end()) {
        f(pos, copy->second.data() + (pos - page * page_), run_end - pos);
      } else if (own(m.offset + pos)) {  // slices are whole pages: so is the run
        f(pos, model_at(m.offset + pos), run_end - pos);
      }
      pos = run_end;
    }
  }

  bool check_map(const Map& m, std::size_t offset, std::size_t length, std::string_view how) {
    std::vector<std::byte> actual(length);
    std::memcpy(actual.data(), m.region.data() + offset, length);
    bool ok = true;
    known_runs(m, offset, length, [&](std::size_t pos, const std::byte* expected, std::size_t n) {
      const std::byte* got = actual.data() + (pos - offset);
      // The message is built only for a mismatch: this runs for every read.
      if (ok && !std::equal(got, got + n, expected)) {
        ok = compare(got, expected, n, m.offset + pos,
                     fmt::format("{} ({} {} mapping{})", how, to_string(m.strategy),
                                 m.is_private ? "private" : "shared",
                                 m.copies.contains(pos / page_) ? ", private copy" : ""));
      }
    });
    return ok;
  }

  bool check_pread(std::uint64_t offset, std::size_t length, std::string_view how) {
    std::vector<std::byte> actual(length);
    std::error_code ec;
    const auto n = files_.front().device.pread(actual, offset, ec);
    return expect(ec.value(), 0, "pread") && expect_count(n, length, "pread") &&
           compare(actual.data(), model_at(offset), length, offset, how);
  }

  // Records in the model that data was written at offset of m.
  void model_write(Map& m, std::size_t offset, std::span<const std::byte> data) {
    if (!m.is_private) {
      std::memcpy(model_at(m.offset + offset), data.data(), data.size());
      return;
    }
    for (std::size_t pos = offset; pos < offset + data.size();) {
      const std::size_t page = pos / page_;
      const std::size_t run_end = std::min(offset + data.size(), (page + 1) * page_);
      auto [copy, fresh] = m.copies.try_emplace(page, page_);
      // The first write copies the page as the buffer holds it. A page of
      // another worker's slice is written whole then, so nothing unknown stays.
      if (const auto at = m.offset + page * page_; fresh && own(at)) {
        std::memcpy(copy->second.data(), model_at(at), page_);
      }
      std::memcpy(copy->second.data() + (pos - page * page_), data.data() + (pos - offset),
                  run_end - pos);
      pos = run_end;
    }
  }

  void write_map(Map& m, std::size_t offset, std::span<const std::byte> data) {
    std::memcpy(m.region.data() + offset, data.data(), data.size());
    model_write(m, offset, data);
  }

  // --- Random choices ----------------------------------------------------------

  // A random non-empty range inside [lo, hi), at most max long.
  std::pair<std::size_t, std::size_t> subrange(std::uint64_t lo, std::uint64_t hi,
                                               std::size_t max) {
    const auto length = static_cast<std::size_t>(rng_.between(1, std::min(max, hi - lo)));
    return {lo + rng_.below(hi - lo - length + 1), length};
  }
  // Whole pages inside the own slice, or anywhere in the buffer.
  std::pair<std::size_t, std::size_t> page_range(bool own_slice) {
    const auto [first, count] = own_slice ? subrange(begin_ / page_, end_ / page_, SIZE_MAX)
                                          : subrange(0, info_.size / page_, SIZE_MAX);
    return {first * page_, count * page_};
  }
  // The part of m inside the own slice, as offsets in m: [first, last).
  [[nodiscard]] std::pair<std::size_t, std::size_t> own_part(const Map& m) const {
    const std::uint64_t lo = std::max(m.offset, begin_);
    const std::uint64_t hi = std::min(m.offset + m.region.size(), end_);
    return lo < hi ? std::pair{lo - m.offset, hi - m.offset}
                   : std::pair<std::size_t, std::size_t>{};
  }
  File& any_file() { return files_[rng_.index(files_.size())]; }
  File& writable_file() {
    std::vector<std::size_t> writable;  // files_[0] always is
    for (std::size_t i = 0; i < files_.size(); ++i) {
      if (files_[i].writable) writable.push_back(i);
    }
    return files_[writable[rng_.index(writable.size())]];
  }
  Map* any_map() { return maps_.empty() ? nullptr : &maps_[rng_.index(maps_.size())]; }
  std::vector<std::byte> random_bytes(std::size_t length) { return pattern(rng_.next(), length); }

  // --- Files -------------------------------------------------------------------

  void do_open() {
    if (files_.size() >= max_files) do_close();
    const bool writable = files_.empty() || !rng_.chance(15);
    const auto strategy = all_strategies.at(rng_.index(all_strategies.size()));
    note("{} {}", writable ? "O_RDWR" : "O_RDONLY", to_string(strategy));
    std::error_code ec;
    auto device = Device::open(config_.device, writable ? O_RDWR : O_RDONLY, ec);
    if (!expect(ec.value(), 0, "open")) return;
    device.set_strategy(strategy, ec);
    if (expect(ec.value(), 0, "SET_STRATEGY right after open")) {
      files_.push_back(File{std::move(device), strategy, writable});
    }
  }

  void do_close() {
    if (files_.size() < 2) return note("only the first file is open; it stays");
    const std::size_t i = 1 + rng_.index(files_.size() - 1);
    note("file {} of {}", i, files_.size());
    std::error_code ec;
    files_[i].device.close(ec);  // its mappings stay
    expect(ec.value(), 0, "close");
    files_.erase(files_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // --- Mappings ----------------------------------------------------------------

  void do_map(bool is_private) {
    if (maps_.size() >= max_maps) do_unmap();
    File& file = any_file();
    const auto [offset, length] = page_range(rng_.chance(70));
    // Now and then a writable MAP_SHARED of an O_RDONLY file: EACCES.
    const bool rw = is_private || file.writable || rng_.chance(30);
    const int want = is_private && !maps_pages(file.strategy) ? EINVAL
                     : !is_private && rw && !file.writable    ? EACCES
                                                              : 0;
    note("{} {} offset {:#x} length {:#x} {} -> {}", is_private ? "private" : "shared",
         to_string(file.strategy), offset, length, rw ? "rw" : "ro", errno_name(want));
    void* address =
        ::mmap(nullptr, length, rw ? PROT_READ | PROT_WRITE : PROT_READ,
               is_private ? MAP_PRIVATE : MAP_SHARED, file.device.fd(), static_cast<off_t>(offset));
    Region region{address == MAP_FAILED ? nullptr : address, length};
    if (!expect(error_of(address == MAP_FAILED), want, "mmap") || want != 0) return;
    file.mapped = true;
    maps_.push_back(Map{
        std::move(region), offset, file.strategy, is_private, is_private || file.writable, rw, {}});
    const auto [first, count] = subrange(0, length, 2 * page_);
    check_map(maps_.back(), first, count, "read after mmap");
  }

  void do_map_refused() {
    File& file = any_file();
    std::uint64_t offset = page_range(false).first;
    std::size_t length = page_;
    int prot = PROT_READ;
    int want = EINVAL;
    switch (rng_.below(6)) {
      case 0:  // the last pages cross the end of the buffer
        offset = rng_.below(info_.size / page_ + 1) * page_;
        length = info_.size - offset + rng_.between(1, 3) * page_;
        break;
      case 1:  // all past the end, near or far
        offset = rng_.chance(50) ? info_.size + rng_.below(16) * page_ : std::uint64_t{1} << 40;
        break;
      case 2:
        prot = PROT_READ | PROT_EXEC;
        want = EPERM;
        break;
      case 3:  // offset + length past 2^64: the kernel's check, before the driver's
        offset = 0 - rng_.between(1, 4) * page_;
        length = static_cast<std::size_t>(0 - offset) + page_;
        want = EOVERFLOW;
        break;
      case 4:  // length 0, or an offset that is not page-aligned
        if (rng_.chance(50)) {
          length = 0;
        } else {
          offset += rng_.between(1, page_ - 1);
        }
        break;
      default:  // writable MAP_SHARED of an O_RDONLY file (else: at the end)
        prot = file.writable ? PROT_READ : PROT_READ | PROT_WRITE;
        offset = file.writable ? info_.size : offset;
        want = file.writable ? EINVAL : EACCES;
        break;
    }
    note("{} offset {:#x} length {:#x} prot {} -> {}", to_string(file.strategy), offset, length,
         prot, errno_name(want));
    void* address =
        ::mmap(nullptr, length, prot, MAP_SHARED, file.device.fd(), static_cast<off_t>(offset));
    Region region{address == MAP_FAILED ? nullptr : address, length};  // a wrong success
    expect(error_of(address == MAP_FAILED), want, "mmap");
  }

  void do_unmap() {
    if (maps_.empty()) return note("nothing mapped");
    const std::size_t i = rng_.index(maps_.size());
    note("mapping {} of {}", i, maps_.size());
    expect(maps_[i].region.unmap(), 0, "munmap");
    maps_.erase(maps_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void do_fresh_map() {
    File& file = any_file();
    const auto [offset, length] = page_range(true);
    note("{} offset {:#x} length {:#x}", to_string(file.strategy), offset, length);
    std::error_code ec;
    auto mapping = Mapping::map(file.device, length, offset,
                                file.writable ? Protection::read_write : Protection::read_only,
                                Sharing::shared, ec);
    if (!expect(ec.value(), 0, "mmap")) return;
    file.mapped = true;
    compare(mapping.data(), model_at(offset), length, offset, "fresh mapping");
    mapping.unmap(ec);
    expect(ec.value(), 0, "munmap");
  }

  void do_mremap_shrink() {
    Map* m = any_map();
    if (m == nullptr || m->region.size() < 2 * page_) return note("no mapping of 2 pages");
    const std::size_t pages = rng_.between(1, m->region.size() / page_ - 1);
    note("{} pages -> {}", m->region.size() / page_, pages);
    void* address = ::mremap(m->region.data(), m->region.size(), pages * page_, 0);
    if (!expect(error_of(address == MAP_FAILED), 0, "mremap shrink")) return;
    if (address != m->region.data()) fail(stats_.unexpected, "mremap shrink moved the mapping");
    m->region.adopt(address, pages * page_);
    std::erase_if(m->copies, [&](const auto& copy) { return copy.first >= pages; });
    check_map(*m, (pages - 1) * page_, page_, "last page after shrink");
  }

  void do_mremap_move() {
    Map* m = any_map();
    if (m == nullptr) return note("nothing mapped");
    const std::size_t length = m->region.size();
    note("{} pages", length / page_);
    void* target =
        ::mmap(nullptr, length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!expect(error_of(target == MAP_FAILED), 0, "mmap reservation")) return;
    Region reservation{target, length};
    void* address =
        ::mremap(m->region.data(), length, length, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    if (!expect(error_of(address == MAP_FAILED), 0, "mremap move")) return;
    reservation.release();  // the mapping replaced it
    m->region.adopt(address, length);
    const auto [offset, count] = subrange(0, length, 3 * page_);
    check_map(*m, offset, count, "after mremap move");
  }

  void do_mremap_refused() {
    Map* m = any_map();
    if (m == nullptr) return note("nothing mapped");
    const std::size_t length = m->region.size();
    const auto choice = rng_.below(3);
    const std::size_t grown = length + page_ * rng_.between(1, 8);
    note("{}", choice == 0 ? "grow in place" : choice == 1 ? "grow, may move" : "DONTUNMAP");
    void* address = choice == 0   ? ::mremap(m->region.data(), length, grown, 0)
                    : choice == 1 ? ::mremap(m->region.data(), length, grown, MREMAP_MAYMOVE)
                                  : ::mremap(m->region.data(), length, length,
                                             MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    if (expect(error_of(address == MAP_FAILED), choice < 2 ? EFAULT : EINVAL, "mremap")) {
      check_map(*m, 0, page_, "after a refused mremap");
    }
  }

  void do_mprotect() {
    Map* m = any_map();
    if (m == nullptr) return note("nothing mapped");
    const auto choice = rng_.below(3);
    const int prot = choice == 0   ? PROT_READ
                     : choice == 1 ? PROT_READ | PROT_WRITE
                                   : PROT_READ | PROT_EXEC | (rng_.chance(50) ? PROT_WRITE : 0);
    // VM_MAYEXEC is cleared on every mapping; VM_MAYWRITE on some.
    const int want = choice == 2 || (choice == 1 && !m->may_write) ? EACCES : 0;
    note("prot {} -> {}", prot, errno_name(want));
    const int got = error_of(::mprotect(m->region.data(), m->region.size(), prot) != 0);
    if (expect(got, want, "mprotect") && want == 0) m->writable = (prot & PROT_WRITE) != 0;
    check_map(*m, 0, std::min(m->region.size(), 2 * page_), "after mprotect");
  }

  // --- fork() ------------------------------------------------------------------

  std::vector<ChildStep> plan_child() {
    std::vector<ChildStep> steps;
    for (auto n = rng_.between(1, 4); n > 0; --n) {
      ChildStep step{static_cast<ChildStep::Kind>(rng_.below(4)), 0, 0, 0, rng_.next()};
      if (step.kind == ChildStep::Kind::pwrite) {
        step.target = static_cast<std::size_t>(&writable_file() - files_.data());
        std::tie(step.offset, step.length) = subrange(begin_, end_, 2 * page_);
      } else if (!maps_.empty()) {
        step.target = rng_.index(maps_.size());
        const Map& m = maps_[step.target];
        const auto [lo, hi] = own_part(m);
        if (step.kind == ChildStep::Kind::write_shared && !m.is_private && m.writable && lo < hi) {
          std::tie(step.offset, step.length) = subrange(lo, hi, 2 * page_);
        } else if (step.kind == ChildStep::Kind::write_private && m.is_private && m.writable) {
          step.offset = rng_.below(m.region.size() / page_) * page_;  // whole pages
          step.length = page_;
        } else {
          step.kind = ChildStep::Kind::check;
          std::tie(step.offset, step.length) = subrange(0, m.region.size(), 2 * page_);
        }
      } else {
        continue;  // nothing mapped
      }
      note("child step {} on {} offset {:#x} length {:#x}", static_cast<int>(step.kind),
           step.target, step.offset, step.length);
      steps.push_back(step);
    }
    return steps;
  }

  // In the child, on copies of the parent's model and mappings.
  [[noreturn]] void run_child(const std::vector<ChildStep>& steps) {
    in_child_ = true;
    ::alarm(30);  // the watchdog: alarms do not survive fork()
    for (const auto& step : steps) {
      const auto data = pattern(step.pattern, step.length);
      if (step.kind == ChildStep::Kind::pwrite) {
        std::error_code ec;
        const auto n = files_[step.target].device.pwrite(data, step.offset, ec);
        if (expect(ec.value(), 0, "pwrite in the child") &&
            expect_count(n, data.size(), "pwrite")) {
          std::memcpy(model_at(step.offset), data.data(), n);
        }
      } else {
        Map& m = maps_[step.target];
        if (step.kind != ChildStep::Kind::check) write_map(m, step.offset, data);
        check_map(m, step.offset, step.length, "read in the child");
      }
    }
    std::fflush(stderr);
    ::_exit(failed_ ? exit_failed : 0);
  }

  void do_fork() {
    const auto steps = plan_child();
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid == 0) run_child(steps);
    if (!expect(error_of(pid < 0), 0, "fork")) return;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed_ = true;  // a child that exits with exit_failed has reported why
      if (!WIFEXITED(status) || WEXITSTATUS(status) != exit_failed) {
        fail(stats_.unexpected, "the forked child ended with wait status {:#x}", status);
      }
      return;
    }
    // The child's shared writes are in the buffer now; its private ones were
    // its own. Apply all before checking: a later step may overwrite an earlier.
    for (const auto& step : steps) {
      if (step.kind == ChildStep::Kind::pwrite) {
        const auto data = pattern(step.pattern, step.length);
        std::memcpy(model_at(step.offset), data.data(), data.size());
      } else if (step.kind == ChildStep::Kind::write_shared) {
        model_write(maps_[step.target], step.offset, pattern(step.pattern, step.length));
      }
    }
    for (const auto& step : steps) {
      if (step.kind == ChildStep::Kind::pwrite) {
        check_pread(step.offset, step.length, "pread of what the child wrote");
      } else if (step.kind == ChildStep::Kind::write_shared) {
        check_pread(maps_[step.target].offset + step.offset, step.length,
                    "pread of what the child wrote");
      } else if (step.kind == ChildStep::Kind::write_private) {
        check_map(maps_[step.target], step.offset, step.length, "after the child's private write");
      }
    }
  }

  // --- read(), write(), lseek() ------------------------------------------------

  void do_pwrite() {
    File& file = any_file();
    auto [offset, length] = subrange(begin_, end_, 3 * page_);
    std::size_t want_n = length;
    int want = 0;
    if (const auto choice = rng_.below(10); choice == 0) {  // at or past the end
      offset = info_.size + rng_.below(2) * rng_.between(1, 3 * page_);
      want = ENOSPC;
    } else if (choice == 1 && end_ == info_.size) {  // across the end: short
      want_n = std::min<std::size_t>(length, page_);
      offset = end_ - want_n;
      length = want_n + rng_.between(1, page_);
    }
    if (!file.writable) want = EBADF;
    note("offset {:#x} length {:#x} -> {}", offset, length, errno_name(want));
    const auto data = random_bytes(length);
    std::error_code ec;
    const auto n = file.device.pwrite(data, offset, ec);
    if (!expect(ec.value(), want, "pwrite") || want != 0 || !expect_count(n, want_n, "pwrite")) {
      return;
    }
    std::memcpy(model_at(offset), data.data(), n);
    check_pread(offset, n, "pread after pwrite");
  }

  void do_pread() {
    File& file = any_file();
    auto [offset, length] = subrange(begin_, end_, 3 * page_);
    if (rng_.chance(10)) offset = info_.size - rng_.below(2 * page_);  // short, or 0 at the end
    note("offset {:#x} length {:#x}", offset, length);
    std::vector<std::byte> actual(length);
    std::error_code ec;
    const auto n = file.device.pread(actual, offset, ec);
    if (!expect(ec.value(), 0, "pread") ||
        !expect_count(n, std::min<std::size_t>(length, info_.size - offset), "pread")) {
      return;
    }
    const std::uint64_t lo = std::max(offset, begin_);  // only the own slice is known
    const std::uint64_t hi = std::min(offset + n, end_);
    if (lo < hi) compare(actual.data() + (lo - offset), model_at(lo), hi - lo, lo, "pread");
  }

  void do_seek_rw() {
    File& file = any_file();
    const int fd = file.device.fd();
    const auto size = static_cast<off_t>(info_.size);
    // From a known position: in the own slice, or the end.
    const auto pos =
        static_cast<off_t>(rng_.chance(20) ? info_.size : subrange(begin_, end_, 1).first);
    if (!expect(error_of(::lseek(fd, pos, SEEK_SET) != pos), 0, "lseek SEEK_SET")) return;
    const auto choice = rng_.below(8);
    if (choice < 2) {  // read() or write() there
      const bool at_end = pos == size;
      const auto length = static_cast<std::size_t>(rng_.between(
          1, at_end ? page_
                    : std::min<std::uint64_t>(end_ - static_cast<std::uint64_t>(pos), 2 * page_)));
      auto data = choice == 0 ? std::vector<std::byte>(length) : random_bytes(length);
      const int want = choice == 0 ? 0 : !file.writable ? EBADF : at_end ? ENOSPC : 0;
      note("{} {:#x} at {:#x} -> {}", choice == 0 ? "read" : "write", length, pos,
           errno_name(want));
      const ssize_t n =
          choice == 0 ? ::read(fd, data.data(), length) : ::write(fd, data.data(), length);
      if (!expect(error_of(n < 0), want, choice == 0 ? "read" : "write") || want != 0 ||
          !expect_count(static_cast<std::size_t>(n), at_end ? 0 : length, "read/write") || at_end) {
        return;
      }
      const auto offset = static_cast<std::uint64_t>(pos);
      if (choice == 0) {
        compare(data.data(), model_at(offset), length, offset, "read");
      } else {
        std::memcpy(model_at(offset), data.data(), length);
        check_pread(offset, length, "pread after write");
      }
      return;
    }
    // {whence, argument, resulting position or -1 for EINVAL}
    const auto k = static_cast<off_t>(rng_.between(1, info_.size));
    const auto to = static_cast<off_t>(rng_.below(info_.size + 1));
    const std::array<std::array<off_t, 3>, 6> seeks{{
        {SEEK_CUR, to - pos, to},
        {SEEK_END, to - size, to},
        {SEEK_CUR, -pos - k, -1},  // negative
        {SEEK_SET, -k, -1},
        {SEEK_END, k, -1},  // past the end
        {SEEK_SET, size + k, -1},
    }};
    const auto [whence, arg, target] = seeks.at(choice - 2);
    note("from {:#x}: lseek({}, {}) -> {}", pos, arg, whence, target);
    const off_t got = ::lseek(fd, arg, static_cast<int>(whence));
    if (!expect(error_of(got < 0), target < 0 ? EINVAL : 0, "lseek")) return;
    // A refused seek leaves the position alone.
    const off_t now = ::lseek(fd, 0, SEEK_CUR);
    if ((target >= 0 && got != target) || now != (target < 0 ? pos : target)) {
      fail(stats_.unexpected, "lseek returned {}, position {}; expected {}", got, now, target);
    }
  }

  void do_bad_pointer() {
    File& file = writable_file();
    const bool write = rng_.chance(50);
    const auto [offset, length] = subrange(begin_, end_, 2 * page_);
    // The user buffer ends at the guard page; only its first `valid` bytes
    // (maybe none) are accessible.
    const std::size_t valid = rng_.chance(50) ? rng_.between(1, std::min(length, page_)) : 0;
    std::byte* const user = guard_.data() + page_ - valid;
    note("{} {:#x} at {:#x}, {} valid", write ? "pwrite" : "pread", length, offset, valid);
    if (write) std::ranges::copy(random_bytes(valid), user);
    const auto off = static_cast<off_t>(offset);
    const ssize_t n = write ? ::pwrite(file.device.fd(), user, length, off)
                            : ::pread(file.device.fd(), user, length, off);
    // A faulting copy may stop early, and reports what it did: EFAULT only
    // if it did nothing.
    if (n < 0 && !expect(errno, EFAULT, write ? "pwrite" : "pread")) return;
    const auto done = static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    if (n == 0 || done > valid) {
      return void(
          fail(stats_.unexpected, "{} of {} bytes copied, {} accessible", n, length, valid));
    }
    if (write) {
      std::memcpy(model_at(offset), user, done);
      check_pread(offset, length, "pread after a faulting pwrite (nothing past what it reported)");
    } else {
      compare(user, model_at(offset), done, offset, "pread into a faulting buffer");
    }
  }

  // pwrite() from and pread() into a mapping of the device itself: the copy
  // faults in the driver's own pages.
  void do_self_copy() {
    std::vector<std::size_t> candidates;  // shared, two pages or more of the own slice
    for (std::size_t i = 0; i < maps_.size(); ++i) {
      const auto [lo, hi] = own_part(maps_[i]);
      if (!maps_[i].is_private && hi - lo >= 2 * page_) candidates.push_back(i);
    }
    if (candidates.empty()) return note("no shared mapping of two own pages");
    Map& m = maps_[candidates[rng_.index(candidates.size())]];
    const auto [lo, hi] = own_part(m);
    const std::size_t mid = lo + (hi - lo) / 2 / page_ * page_;  // src, dst on either side
    auto [src, length] = subrange(lo, mid, 2 * page_);
    auto dst = subrange(mid, hi, length).first;
    length = std::min(length, hi - dst);
    if (rng_.chance(50)) std::swap(src, dst);
    const bool into_map = m.writable && rng_.chance(50);
    note("{} {:#x} bytes, {:#x} -> {:#x}", into_map ? "pread into" : "pwrite from", length, src,
         dst);
    const int fd = writable_file().device.fd();
    const std::uint64_t from = m.offset + src;
    const std::uint64_t to = m.offset + dst;
    const ssize_t n = into_map
                          ? ::pread(fd, m.region.data() + dst, length, static_cast<off_t>(from))
                          : ::pwrite(fd, m.region.data() + src, length, static_cast<off_t>(to));
    if (!expect(error_of(n < 0), 0, into_map ? "pread into a mapping" : "pwrite from a mapping") ||
        !expect_count(static_cast<std::size_t>(n), length, "copy")) {
      return;
    }
    std::memcpy(model_at(to), model_at(from), length);
    check_map(m, dst, length, "after the copy") && check_pread(to, length, "pread after the copy");
  }

  // --- ioctl(), poll() ---------------------------------------------------------

  void do_info() {
    File& file = any_file();
    if (rng_.chance(30)) {
      const unsigned long cmd = _IO(MMAPDEMO_IOC_MAGIC, 0x40 + rng_.below(0x40));
      note("unknown ioctl {:#x}", cmd);
      return void(expect(error_of(::ioctl(file.device.fd(), cmd) != 0), ENOTTY, "unknown ioctl"));
    }
    note("GET_INFO");
    std::error_code ec;
    const Info got = file.device.info(ec);
    Info want = info_;
    want.strategy = file.strategy;
    if (expect(ec.value(), 0, "GET_INFO") && got != want) {
      fail(stats_.unexpected, "GET_INFO: size {} page {} backend {} strategy {} default {}",
           got.size, got.page_size, to_string(got.backend), to_string(got.strategy),
           to_string(got.default_strategy));
    }
  }

  void do_set_strategy() {
    File& file = any_file();
    constexpr auto last = static_cast<std::uint32_t>(all_strategies.back());
    constexpr std::array<std::uint32_t, 4> unknown{last + 1, last + 2, 0x7fffffff, 0xffffffff};
    auto value = static_cast<std::uint32_t>(all_strategies.at(rng_.index(all_strategies.size())));
    if (rng_.chance(25)) value = unknown.at(rng_.index(unknown.size()));
    // The value is checked before whether the file was mapped.
    const int want = value > last ? EINVAL : file.mapped ? EBUSY : 0;
    note("{} (mapped: {}) -> {}", value, file.mapped, errno_name(want));
    const int got = error_of(::ioctl(file.device.fd(), MMAPDEMO_IOC_SET_STRATEGY, &value) != 0);
    if (expect(got, want, "SET_STRATEGY") && want == 0) file.strategy = Strategy{value};
    std::error_code ec;
    const auto now = file.device.info(ec).strategy;
    if (expect(ec.value(), 0, "GET_INFO") && now != file.strategy) {
      fail(stats_.unexpected, "strategy {} after SET_STRATEGY, expected {}", to_string(now),
           to_string(file.strategy));
    }
  }

  // Other workers ring at any time, so an ACK is EAGAIN or a ring later than
  // the last one this file took; right after a RING it cannot be EAGAIN.
  bool ack(File& file, bool pending) {
    std::error_code ec;
    const auto number = file.device.ack(ec);
    if (!expect(ec.value(), 0, "ACK")) return false;
    if (!number) return pending ? expect(EAGAIN, 0, "ACK right after RING") : false;
    if (*number <= file.last_ack) {
      return fail(stats_.unexpected, "ACK {} after ACK {}", *number, file.last_ack);
    }
    file.last_ack = *number;
    return true;
  }

  void do_doorbell() {
    File& file = any_file();
    const auto choice = rng_.below(3);
    if (choice == 0) {
      note("RING, then every file is readable, and this one ACKs");
      std::error_code ec;
      file.device.ring(ec);
      if (!expect(ec.value(), 0, "RING")) return;
      for (auto& other : files_) {
        pollfd pfd{other.device.fd(), POLLIN, 0};
        if (const int ready = ::poll(&pfd, 1, 0); ready != 1 || pfd.revents != POLLIN) {
          return void(
              fail(stats_.unexpected, "poll after RING: {}, revents {:#x}", ready, pfd.revents));
        }
      }
      ack(file, true);
    } else if (choice == 1) {
      note("ACK until EAGAIN");
      for (int i = 0; i < 16 && ack(file, false); ++i) {
      }
    } else {
      note("poll, timeout 0");
      pollfd pfd{file.device.fd(), POLLIN, 0};
      if (const int ready = ::poll(&pfd, 1, 0); ready < 0 || (pfd.revents & ~POLLIN) != 0) {
        fail(stats_.unexpected, "poll: {}, revents {:#x}", ready, pfd.revents);
      }
    }
  }

  // --- madvise(), msync() ------------------------------------------------------

  void do_madvise() {
    Map* m = any_map();
    if (m == nullptr) return note("nothing mapped");
    const auto range = subrange(0, m->region.size() / page_, SIZE_MAX);
    const std::size_t first = range.first;  // pages
    const std::size_t count = range.second;
    std::byte* const address = m->region.data() + first * page_;
    const std::size_t length = count * page_;
    const bool pfnmap = !maps_pages(m->strategy);
    struct Advice {
      const char* name;
      int advice;  // or -1 for msync
      int flags;
      int want;
    };
    const std::array<Advice, 6> advices{{
        {"MADV_DONTNEED", MADV_DONTNEED, 0, pfnmap ? EINVAL : 0},
        {"MADV_WILLNEED", MADV_WILLNEED, 0, 0},
        {"MADV_COLD", MADV_COLD, 0, pfnmap ? EINVAL : 0},
        {"MADV_PAGEOUT", MADV_PAGEOUT, 0, pfnmap ? EINVAL : 0},
        {"msync MS_SYNC", -1, MS_SYNC, !m->is_private && m->may_write ? EINVAL : 0},
        {"msync MS_ASYNC", -1, MS_ASYNC, 0},
    }};
    const Advice& a = advices.at(rng_.index(advices.size()));
    note("{} on {} {} pages {}+{} -> {}", a.name, to_string(m->strategy),
         m->is_private ? "private" : "shared", first, count, errno_name(a.want));
    const int got = error_of((a.advice < 0 ? ::msync(address, length, a.flags)
                                           : ::madvise(address, length, a.advice)) != 0);
    if (!expect(got, a.want, a.name)) return;
    if (a.advice == MADV_DONTNEED && got == 0) {  // private copies are gone
      std::erase_if(m->copies,
                    [&](const auto& c) { return c.first >= first && c.first < first + count; });
    }
    check_map(*m, first * page_, length, fmt::format("after {}", a.name));
  }

  // --- Touching mappings -------------------------------------------------------

  void do_touch_read() {
    Map* m = any_map();
    if (m == nullptr) return note("nothing mapped");
    const auto [offset, length] = subrange(0, m->region.size(), 3 * page_);
    note("{} {} offset {:#x} length {:#x}", to_string(m->strategy),
         m->is_private ? "private" : "shared", offset, length);
    check_map(*m, offset, length, "read through a mapping");
  }

  void do_touch_write() {
    Map* m = any_map();
    if (m == nullptr || !m->writable) return note("no writable mapping picked");
    std::pair<std::size_t, std::size_t> range;
    if (!m->is_private) {  // only inside the own slice
      const auto [lo, hi] = own_part(*m);
      if (lo == hi) return note("shared mapping outside the own slice");
      range = subrange(lo, hi, 2 * page_);
    } else {
      // Anywhere: a private write never reaches the buffer (if it did, the
      // worker owning that slice would see it). A page the model cannot
      // copy is written whole the first time.
      const std::size_t page = rng_.index(m->region.size() / page_);
      const bool known = m->copies.contains(page) || own(m->offset + page * page_);
      range = known ? subrange(page * page_, (page + 1) * page_, page_)
                    : std::pair{page * page_, page_};
    }
    const auto [offset, length] = range;
    note("{} {} offset {:#x} length {:#x}", to_string(m->strategy),
         m->is_private ? "private" : "shared", offset, length);
    write_map(*m, offset, random_bytes(length));
    if (!m->is_private) check_pread(m->offset + offset, length, "pread after a write to a mapping");
  }

  void do_map_shared() { do_map(false); }
  void do_map_private() { do_map(true); }

  const Config& config_;
  const Info info_;
  const std::size_t page_;
  const unsigned index_;
  const std::uint64_t begin_, end_;  // the own slice
  Stats& stats_;
  Rng rng_;
  std::vector<std::byte> model_;  // what the own slice holds
  std::vector<File> files_;       // files_[0] is writable and stays open
  std::vector<Map> maps_;
  Region guard_;  // a read-write page, then a PROT_NONE one
  std::uint64_t op_ = 0;
  Op op_kind_ = Op::open;
  bool failed_ = false;
  bool in_child_ = false;
};

int Worker::run() {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::seconds{config_.duration};
  // The watchdog: SIGALRM kills the worker well before the parent's limit.
  ::alarm(config_.duration + 45);

  void* guard =
      ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!expect(error_of(guard == MAP_FAILED), 0, "mmap guard")) return exit_failed;
  guard_ = Region{guard, 2 * page_};
  if (!expect(error_of(::mprotect(guard_.data() + page_, page_, PROT_NONE) != 0), 0, "mprotect")) {
    return exit_failed;
  }
  // The slice holds whatever an earlier run left: start from known bytes.
  do_open();
  if (failed_) return exit_failed;
  model_ = random_bytes(end_ - begin_);
  std::error_code ec;
  const auto n = files_.front().device.pwrite(model_, begin_, ec);
  if (!expect(ec.value(), 0, "pwrite") || !expect_count(n, model_.size(), "pwrite")) {
    return exit_failed;
  }

  // Indexed like op_table, which lists the ops in the order of Op.
  static constexpr std::array<void (Worker::*)(), op_count> handlers{
      &Worker::do_open,           &Worker::do_close,         &Worker::do_map_shared,
      &Worker::do_map_private,    &Worker::do_map_refused,   &Worker::do_unmap,
      &Worker::do_fresh_map,      &Worker::do_mremap_shrink, &Worker::do_mremap_move,
      &Worker::do_mremap_refused, &Worker::do_mprotect,      &Worker::do_fork,
      &Worker::do_pwrite,         &Worker::do_pread,         &Worker::do_seek_rw,
      &Worker::do_bad_pointer,    &Worker::do_self_copy,     &Worker::do_info,
      &Worker::do_set_strategy,   &Worker::do_doorbell,      &Worker::do_madvise,
      &Worker::do_touch_read,     &Worker::do_touch_write,
  };
  std::array<unsigned, op_count> cumulative{};
  unsigned total = 0;
  for (std::size_t i = 0; i < op_count; ++i) cumulative.at(i) = total += op_table.at(i).weight;
  while (!failed_ && (config_.ops == 0 || op_ < config_.ops) && clock::now() < deadline) {
    const auto roll = static_cast<unsigned>(rng_.below(total));
    const auto pick =
        static_cast<std::size_t>(std::ranges::upper_bound(cumulative, roll) - cumulative.begin());
    op_kind_ = op_table.at(pick).op;
    stats_.ops = ++op_;  // before the call: a worker that dies names its last op
    ++stats_.counts.at(pick);
    (this->*handlers.at(pick))();
  }
  if (!failed_) {  // a last look at everything
    op_kind_ = Op::touch_read;
    note("final check");
    check_pread(begin_, model_.size(), "final pread of the slice");
    for (const auto& m : maps_) {
      if (!failed_) check_map(m, 0, m.region.size(), "final read through a mapping");
    }
  }
  return failed_ ? exit_failed : 0;
}

}  // namespace

int run_worker(const Config& config, const Geometry& geometry, unsigned index, Stats& stats) {
  try {
    return Worker{config, geometry, index, stats}.run();
  } catch (const std::exception& e) {
    ++stats.unexpected;
    fmt::print(stderr, "mmapdemo-stress: FAIL seed {} worker {} op #{}: {}\n", config.seed, index,
               stats.ops, e.what());
    return exit_failed;
  }
}

}  // namespace mmapdemo::stress
