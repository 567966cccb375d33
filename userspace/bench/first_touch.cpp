// SPDX-License-Identifier: GPL-2.0
// Part 2, first touch: mmap(), one access per page, munmap(), per strategy,
// anonymous memory (as the kernel's THP setting has it, and with 4 KiB pages
// only: anon-4k) and a memfd whose pages already exist (like the device's
// buffer: nothing to allocate). Every access is a write in one comparison
// and a read in the other: the kernel maps pages around a fault
// (fault-around, .map_pages) for read faults only. The timed loop holds
// mmap() and munmap() too, so strategies that map at mmap() time (remap,
// prefault) pay for it there. Faults come from ru_minflt, and for the
// device also from the driver's own counters in sysfs: the faults it served
// (a fault-around or a huge fault counts once for all the pages it maps)
// and how many of those ran under the per-VMA lock. Then mmap() alone
// against size, whose slope is the cost per page of mapping at mmap() time.
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/core.h>

#include "parts.hpp"

namespace mmapdemo::bench {

namespace {

constexpr std::size_t page = 4096;
// A PMD entry's worth: what one huge fault maps.
constexpr std::size_t huge_page = 2 * MiB;
// Enough pages per sample that small sizes are not dominated by the clock.
constexpr std::size_t pages_per_sample = 512;

std::size_t iterations_for(std::size_t size) {
  return std::max<std::size_t>(1, pages_per_sample / (size / page));
}

enum class Access { write, read };

void touch(std::span<std::byte> bytes, Access access) {
  if (access == Access::write) {
    for (std::size_t i = 0; i < bytes.size(); i += page) bytes[i] = std::byte{1};
    return;
  }
  // One load per page, each of them kept: volatile, not folded into a sum.
  const volatile std::byte* p = bytes.data();
  std::byte sum{0};
  for (std::size_t i = 0; i < bytes.size(); i += page) sum ^= p[i];
  keep(sum);
}

// A counter of the driver's in sysfs, absent on a driver without it.
class Counter {
 public:
  Counter() = default;
  explicit Counter(std::string path) : path_{std::move(path)} {
    if (::access(path_.c_str(), R_OK) != 0) path_.clear();
  }
  [[nodiscard]] bool exists() const noexcept { return !path_.empty(); }
  [[nodiscard]] std::int64_t read() const {
    std::ifstream in{path_};
    std::int64_t value = 0;
    if (!(in >> value)) throw std::runtime_error("cannot read " + path_);
    return value;
  }

 private:
  std::string path_;
};

// The driver's fault counters (see docs/observability.md).
struct DriverCounters {
  Counter faults;
  Counter vma_lock_faults;
};

// /dev/NAME's attributes live in /sys/class/misc/NAME/.
DriverCounters driver_counters(const std::string& device) {
  const auto slash = device.rfind('/');
  const auto dir = "/sys/class/misc/" + device.substr(slash == std::string::npos ? 0 : slash + 1);
  return {Counter{dir + "/faults"}, Counter{dir + "/vma_lock_faults"}};
}

using Figures = std::vector<std::pair<std::string, double>>;

struct TouchSpec {
  std::string name;
  std::string backend;
  std::size_t size = 0;
  Access access = Access::write;
  // Faults per 2 MiB as well (the huge strategy and its THP counterpart).
  bool per_huge_page = false;
  const DriverCounters* counters = nullptr;  // the device's, or none
};

// map() returns an owner of a fresh mapping of size bytes. The driver's
// counters are read outside the timed part.
template <class Map>
Variant touch_variant(const TouchSpec& spec, Map map) {
  return {spec.name, spec.backend, [spec, map] {
            const auto n = iterations_for(spec.size);
            const DriverCounters* c = spec.counters;
            const bool driver = c != nullptr && c->faults.exists();
            const bool vma_lock = driver && c->vma_lock_faults.exists();
            const auto driver0 = driver ? c->faults.read() : 0;
            const auto vma0 = vma_lock ? c->vma_lock_faults.read() : 0;
            const auto faults0 = minor_faults();
            const auto start = now_ns();
            for (std::size_t i = 0; i < n; ++i) {
              auto region = map();
              touch(region.bytes(), spec.access);
            }
            const auto ns = static_cast<double>(now_ns() - start);
            const auto faults = static_cast<double>(minor_faults() - faults0);
            const auto bytes = static_cast<double>(n * spec.size);
            const auto pages = bytes / static_cast<double>(page);
            Figures figures{{"ns/page", ns / pages}, {"faults/page", faults / pages}};
            if (spec.per_huge_page && spec.size >= huge_page) {
              figures.emplace_back("faults/2MiB", faults * static_cast<double>(huge_page) / bytes);
            }
            if (driver) {
              const auto served = static_cast<double>(c->faults.read() - driver0);
              figures.emplace_back("driver faults/page", served / pages);
              if (vma_lock) {
                const auto locked = static_cast<double>(c->vma_lock_faults.read() - vma0);
                // No share of no faults (remap, prefault): left out, not 0.
                const auto share =
                    served > 0 ? locked / served : std::numeric_limits<double>::quiet_NaN();
                figures.emplace_back("VMA-lock share", share);
              }
            }
            return figures;
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
  const auto counters = config.device.empty() ? DriverCounters{} : driver_counters(config.device);
  if (!config.device.empty() && !counters.vma_lock_faults.exists()) {
    results.notes.push_back(
        "first-touch: the driver has no vma_lock_faults counter: no VMA-lock share");
  }

  // Per variant and repetition, the mmap() times at each size, for the slope.
  std::vector<std::string> names;
  std::vector<std::vector<std::vector<double>>> mmap_us;  // [size][variant][rep]

  for (const auto size : sizes) {
    const auto memfd = make_memfd(size);
    const int fd = memfd.get();
    auto anon_map = [size] { return Region::anonymous(size, false); };
    auto anon_4k_map = [size] { return Region::anonymous_small_pages(size); };
    auto memfd_map = [fd, size] { return Region::of_fd(fd, size, false); };

    // Writes, reads, then mmap() alone.
    for (const auto step : {0, 1, 2}) {
      const bool touching = step < 2;
      const auto access = step == 0 ? Access::write : Access::read;
      const std::string op = touching ? (access == Access::write ? "write" : "read") : "mmap";
      progress(fmt::format("{} {} {}", touching ? "first-touch " + op : "mmap-only", config.backend,
                           size_label(size)));
      auto spec = [&](const std::string& name, const std::string& backend) {
        return TouchSpec{name,
                         backend,
                         size,
                         access,
                         name == "anon" || name == "huge",
                         backend.empty() ? nullptr : &counters};
      };
      std::vector<Variant> variants;
      if (touching) {
        variants.push_back(touch_variant(spec("anon", ""), anon_map));
        variants.push_back(touch_variant(spec("anon-4k", ""), anon_4k_map));
        variants.push_back(touch_variant(spec("memfd", ""), memfd_map));
      } else {
        variants.push_back(mmap_variant("anon", "", size, anon_map));
        variants.push_back(mmap_variant("memfd", "", size, memfd_map));
      }
      for (std::size_t s = 0; s < files.size(); ++s) {
        const Device* file = &files[s];
        auto dev_map = [file, size] { return Mapping::map(*file, size); };
        const auto name = strategy_name(config.strategies[s]);
        variants.push_back(touching ? touch_variant(spec(name, config.backend), dev_map)
                                    : mmap_variant(name, config.backend, size, dev_map));
      }
      // Against 4 KiB anonymous pages too (THP maps anon memory of 2 MiB and
      // more with one fault per 2 MiB), and the strategy ablation: every
      // strategy against remap and fault.
      auto samples = compare(results,
                             {touching ? "first-touch" : "mmap-only", op, size, "anon", false,
                              touching ? std::vector<std::string>{"anon-4k", "remap", "fault"}
                                       : std::vector<std::string>{}},
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
