// SPDX-License-Identifier: GPL-2.0
// Part 2, first touch: mmap(), one write per page, munmap(), per strategy,
// anonymous memory and a memfd whose pages already exist (like the device's
// buffer: nothing to allocate). Faults come from ru_minflt. Then mmap()
// alone against size, whose slope is the cost per page of mapping at mmap()
// time (what remap pays up front instead of in faults).
#include <sys/mman.h>

#include <cstring>

#include <fmt/core.h>

#include "parts.hpp"

namespace mmapdemo::bench {

namespace {

constexpr std::size_t page = 4096;
// Enough pages per sample that small sizes are not dominated by the clock.
constexpr std::size_t pages_per_sample = 512;

std::size_t iterations_for(std::size_t size) {
  return std::max<std::size_t>(1, pages_per_sample / (size / page));
}

void touch(std::span<std::byte> bytes) {
  for (std::size_t i = 0; i < bytes.size(); i += page) bytes[i] = std::byte{1};
}

using Figures = std::vector<std::pair<std::string, double>>;

// map() returns an owner of a fresh mapping of size bytes.
template <class Map>
Variant touch_variant(const std::string& name, const std::string& backend, std::size_t size,
                      Map map) {
  return {name, backend, [size, map] {
            const auto n = iterations_for(size);
            const auto faults0 = minor_faults();
            const auto start = now_ns();
            for (std::size_t i = 0; i < n; ++i) {
              auto region = map();
              touch(region.bytes());
            }
            const auto ns = static_cast<double>(now_ns() - start);
            const auto faults = static_cast<double>(minor_faults() - faults0);
            const auto pages = static_cast<double>(n * size) / static_cast<double>(page);
            return Figures{{"ns/page", ns / pages}, {"faults/page", faults / pages}};
          }};
}

// Times map() alone; the owner it returns unmaps outside the timed part.
template <class Map>
Variant mmap_variant(const std::string& name, const std::string& backend, std::size_t size,
                     Map map) {
  return {name, backend, [size, map] {
            const auto n = iterations_for(size);
            std::int64_t ns = 0;
            for (std::size_t i = 0; i < n; ++i) {
              const auto start = now_ns();
              auto region = map();
              ns += now_ns() - start;
            }
            return Figures{{"us/mmap", static_cast<double>(ns) / 1000.0 / static_cast<double>(n)}};
          }};
}

}  // namespace

void first_touch(Results& results, const Config& config) {
  const std::vector<std::size_t> wanted{64 * KiB, 512 * KiB, 4 * MiB, 32 * MiB};
  const auto sizes = device_sizes(results, config, "first-touch", wanted);

  std::vector<Device> files;
  for (const auto strategy : config.strategies) files.push_back(open_with(config.device, strategy));

  // Per variant and repetition, the mmap() times at each size, for the slope.
  std::vector<std::string> names;
  std::vector<std::vector<std::vector<double>>> mmap_us;  // [size][variant][rep]

  for (const auto size : sizes) {
    const auto memfd = make_memfd(size);
    const int fd = memfd.get();
    auto anon_map = [size] { return Region::anonymous(size, false); };
    auto memfd_map = [fd, size] { return Region::of_fd(fd, size, false); };

    for (const bool touching : {true, false}) {
      progress(fmt::format("{} {} {}", touching ? "first-touch" : "mmap-only", config.backend,
                           size_label(size)));
      std::vector<Variant> variants;
      if (touching) {
        variants.push_back(touch_variant("anon", "", size, anon_map));
        variants.push_back(touch_variant("memfd", "", size, memfd_map));
      } else {
        variants.push_back(mmap_variant("anon", "", size, anon_map));
        variants.push_back(mmap_variant("memfd", "", size, memfd_map));
      }
      for (std::size_t s = 0; s < files.size(); ++s) {
        const Device* file = &files[s];
        auto dev_map = [file, size] { return Mapping::map(*file, size); };
        const auto name = strategy_name(config.strategies[s]);
        variants.push_back(touching ? touch_variant(name, config.backend, size, dev_map)
                                    : mmap_variant(name, config.backend, size, dev_map));
      }
      auto samples = compare(results,
                             {touching ? "first-touch" : "mmap-only", touching ? "touch" : "mmap",
                              size, "anon", false},
                             variants, config.reps);
      if (!touching) {
        names.clear();
        for (const auto& v : variants) names.push_back(v.name);
        mmap_us.push_back(std::move(samples));
      }
    }
  }

  // The slope of mmap() time over pages, per variant and repetition.
  if (sizes.size() < 2) return;
  std::vector<double> pages;
  pages.reserve(sizes.size());
  for (const auto size : sizes) {
    pages.push_back(static_cast<double>(size) / static_cast<double>(page));
  }
  for (std::size_t v = 0; v < names.size(); ++v) {
    std::vector<double> slopes;
    for (int rep = 0; rep < config.reps; ++rep) {
      std::vector<double> ns;
      for (std::size_t s = 0; s < sizes.size(); ++s) {
        ns.push_back(mmap_us[s][v][static_cast<std::size_t>(rep)] * 1000.0);
      }
      slopes.push_back(slope(pages, ns));
    }
    Row row;
    row.part = "mmap-only";
    row.op = "slope";
    row.backend = v < 2 ? "" : config.backend;
    row.variant = names[v];
    row.unit = "ns/page";
    row.value = summarize(slopes);
    row.higher_is_better = false;
    results.rows.push_back(std::move(row));
  }
}

}  // namespace mmapdemo::bench
