// SPDX-License-Identifier: GPL-2.0
#include "harness.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <map>
#include <system_error>
#include <utility>

#include <fmt/core.h>

namespace mmapdemo::bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

std::string size_label(std::size_t bytes) {
  if (bytes >= MiB && bytes % MiB == 0) return fmt::format("{} MiB", bytes / MiB);
  if (bytes >= KiB && bytes % KiB == 0) return fmt::format("{} KiB", bytes / KiB);
  return fmt::format("{} B", bytes);
}

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t minor_faults() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) fail("getrusage");
  return usage.ru_minflt;
}

Region Region::anonymous(std::size_t size, bool populate) {
  return Region{base::Region::map(size, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1,
                                  0, "anonymous " + size_label(size))};
}

Region Region::anonymous_small_pages(std::size_t size) {
  auto region = anonymous(size, false);
  if (::madvise(region.data(), size, MADV_NOHUGEPAGE) != 0) fail("madvise MADV_NOHUGEPAGE");
  return region;
}

Region Region::shared_anonymous(std::size_t size) {
  return Region{base::Region::map(size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0,
                                  "shared anonymous " + size_label(size))};
}

Region Region::of_fd(int fd, std::size_t size, bool populate) {
  return Region{base::Region::map(size, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0,
                                  "memfd " + size_label(size))};
}

Fd make_memfd(std::size_t size) {
  Fd fd{::memfd_create("mmapdemo-bench", MFD_CLOEXEC)};
  if (fd.get() < 0) fail("memfd_create");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) fail("ftruncate memfd");
  // Writing every page once allocates them in the page cache.
  const auto populate = Region::of_fd(fd.get(), size, false);
  for (std::size_t i = 0; i < size; i += 4096) populate.data()[i] = std::byte{1};
  return fd;
}

std::vector<Strategy> probe_strategies(const std::string& path) {
  // The uapi numbers strategies from 0; gaps are allowed, so probe a few past
  // the last one that worked.
  std::vector<Strategy> found;
  for (std::uint32_t value = 0; value < 16; ++value) {
    std::error_code ec;
    auto file = Device::open(path, O_RDWR, ec);
    if (ec) throw std::system_error(ec, "open " + path);
    file.set_strategy(static_cast<Strategy>(value), ec);
    if (!ec) {
      found.push_back(static_cast<Strategy>(value));
    } else if (ec != std::errc::invalid_argument) {
      throw std::system_error(ec, "MMAPDEMO_IOC_SET_STRATEGY " + std::to_string(value));
    }
  }
  return found;
}

std::string strategy_name(Strategy strategy) {
  const auto name = to_string(strategy);
  if (name != "unknown") return std::string{name};
  return fmt::format("strategy{}", static_cast<std::uint32_t>(strategy));
}

Device open_with(const std::string& path, Strategy strategy) {
  auto file = Device::open(path);
  file.set_strategy(strategy);
  return file;
}

void progress(const std::string& what) {
  std::fputs(("bench: " + what + "\n").c_str(), stderr);
  std::fflush(stderr);
}

std::vector<std::vector<double>> compare(Results& results, const Comparison& what,
                                         std::vector<Variant>& variants, int reps) {
  const auto count = variants.size();
  // samples[variant][unit] in the order the variant reported its units.
  std::vector<std::vector<std::pair<std::string, std::vector<double>>>> samples(count);
  for (int rep = 0; rep < reps; ++rep) {
    for (std::size_t k = 0; k < count; ++k) {
      const auto v = (k + static_cast<std::size_t>(rep)) % count;
      const auto figures = variants[v].sample();
      auto& mine = samples[v];
      if (mine.empty()) {
        for (const auto& [unit, value] : figures) mine.emplace_back(unit, std::vector<double>{});
      }
      for (std::size_t u = 0; u < figures.size() && u < mine.size(); ++u) {
        mine[u].second.push_back(figures[u].second);
      }
    }
  }

  auto index_of = [&variants, count](const std::string& name) {
    for (std::size_t v = 0; v < count; ++v) {
      if (variants[v].name == name) return v;
    }
    return count;
  };
  const auto base = index_of(what.baseline);
  std::vector<std::vector<double>> first(count);
  for (std::size_t v = 0; v < count; ++v) {
    for (std::size_t u = 0; u < samples[v].size(); ++u) {
      Row row;
      row.part = what.part;
      row.op = what.op;
      row.backend = variants[v].backend;
      row.variant = variants[v].name;
      row.size = what.size;
      row.unit = samples[v][u].first;
      row.value = summarize(samples[v][u].second);
      row.higher_is_better = what.higher_is_better;
      if (u == 0 && base < count) {
        row.baseline = what.baseline;
        row.ratio = summarize(paired_ratios(samples[v][0].second, samples[base][0].second));
      }
      for (const auto& other : what.also_vs) {
        const auto o = index_of(other);
        if (u != 0 || o == count || samples[o].empty()) continue;
        row.more_ratios.emplace_back(
            other, summarize(paired_ratios(samples[v][0].second, samples[o][0].second)));
      }
      results.rows.push_back(std::move(row));
    }
    if (!samples[v].empty()) first[v] = samples[v][0].second;
  }
  return first;
}

}  // namespace mmapdemo::bench
