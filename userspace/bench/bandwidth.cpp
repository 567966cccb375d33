// SPDX-License-Identifier: GPL-2.0
// Part 1, bandwidth parity: a sequential sum (reads) and a memcpy into the
// region (writes) over a pre-touched device mapping, an anonymous
// MAP_POPULATE buffer and a memfd mapping of the same size.
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "parts.hpp"

namespace mmapdemo::bench {

namespace {

std::uint64_t sum_words(std::span<const std::byte> bytes) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + sizeof sum <= bytes.size(); i += sizeof sum) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, sizeof word);  // a plain load
    sum += word;
  }
  return sum;
}

// Enough passes over small regions that one sample is not a clock tick.
std::size_t passes_for(std::size_t size) { return std::max<std::size_t>(1, 2 * MiB / size); }

Variant make_variant(const std::string& name, const std::string& backend, std::span<std::byte> dst,
                     std::span<const std::byte> src, bool copy) {
  return {name, backend, [dst, src, copy] {
            const auto passes = passes_for(dst.size());
            const auto start = now_ns();
            for (std::size_t p = 0; p < passes; ++p) {
              if (copy) {
                std::memcpy(dst.data(), src.data(), dst.size());
                keep(dst[p % dst.size()]);
              } else {
                keep(sum_words(dst));
              }
            }
            const auto ns = static_cast<double>(now_ns() - start);
            return std::vector<std::pair<std::string, double>>{
                {"GB/s", static_cast<double>(passes * dst.size()) / ns}};
          }};
}

}  // namespace

void bandwidth(Results& results, const Config& config) {
  const std::vector<std::size_t> wanted{64 * KiB, 512 * KiB, 4 * MiB, 32 * MiB, 256 * MiB};
  const auto sizes = device_sizes(results, config, "bandwidth", wanted);
  std::vector<std::string> page_based;
  for (const auto strategy : config.strategies) {
    if (maps_pages(strategy)) page_based.push_back(strategy_name(strategy));
  }
  if (page_based.size() > 1 && sizes.back() > 32 * MiB) {
    results.notes.push_back(fmt::format(
        "bandwidth: above 32 MiB {} not measured: page-based like {}, they map the same 4 KiB "
        "entries and differ only in first touch",
        fmt::join(page_based.begin() + 1, page_based.end(), ", "), page_based.front()));
  }
  for (const auto size : sizes) {
    // Regions per size, so the largest sizes never coexist with the others.
    // MAP_POPULATE of private anonymous memory allocates zeroed pages: no
    // shared zero page behind the source.
    const auto src = Region::anonymous(size, true);
    auto anon = Region::anonymous(size, true);
    const auto memfd = make_memfd(size);
    auto shm = Region::of_fd(memfd.get(), size, true);
    std::vector<std::pair<std::string, std::span<std::byte>>> targets{{"anon", anon.bytes()},
                                                                      {"memfd", shm.bytes()}};
    std::vector<Mapping> mappings;
    bool page_based_seen = false;
    for (const auto strategy : config.strategies) {
      // Page-based strategies differ only in when the same 4 KiB entries go
      // in: past 32 MiB, where a repetition costs many seconds under TCG,
      // the first of them stands for the others.
      if (maps_pages(strategy)) {
        if (page_based_seen && size > 32 * MiB) continue;
        page_based_seen = true;
      }
      auto file = open_with(config.device, strategy);
      mappings.push_back(Mapping::map(file, size));
      targets.emplace_back(strategy_name(strategy), mappings.back().bytes());
    }
    // Pre-touch: every page present and dirty before anything is timed.
    for (auto& [name, bytes] : targets) {
      for (std::size_t i = 0; i < bytes.size(); i += 4096) bytes[i] = std::byte{1};
    }

    for (const bool copy : {false, true}) {
      progress(fmt::format("bandwidth {} {} {}", config.backend, copy ? "memcpy" : "sum",
                           size_label(size)));
      std::vector<Variant> variants;
      for (const auto& [name, bytes] : targets) {
        const bool device = name != "anon" && name != "memfd";
        variants.push_back(
            make_variant(name, device ? config.backend : "", bytes, src.bytes(), copy));
      }
      compare(results, {"bandwidth", copy ? "memcpy" : "sum", size, "anon", true}, variants,
              config.reps);
    }
  }
}

std::vector<std::size_t> device_sizes(Results& results, const Config& config,
                                      const std::string& part,
                                      const std::vector<std::size_t>& wanted) {
  if (config.device.empty()) return wanted;
  std::vector<std::size_t> sizes;
  std::vector<std::string> skipped;
  for (const auto size : wanted) {
    if (size <= config.device_size) {
      sizes.push_back(size);
    } else {
      skipped.push_back(size_label(size));
    }
  }
  if (!skipped.empty()) {
    results.notes.push_back(fmt::format(
        "{}: {} not measured with the {} backend, whose buffer is {}{}; the vmalloc run covers "
        "the larger sizes",
        part, fmt::join(skipped, ", "), config.backend, size_label(config.device_size),
        config.backend == "kmalloc" ? " (kmalloc holds at most 4 MiB)" : ""));
  }
  return sizes;
}

}  // namespace mmapdemo::bench
