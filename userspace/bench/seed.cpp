// SPDX-License-Identifier: GPL-2.0
// Part 3, seed 002: add one to each int of the buffer with open(), read(),
// a loop, pwrite() back in place, close(); against open(), mmap(), the same
// loop through the mapping, munmap(), close(). First the article's exact
// 10,000 ints, then a sweep of sizes. The ratio is read/write ÷ mmap.
#include <cstring>

#include <fmt/core.h>

#include "parts.hpp"

namespace mmapdemo::bench {

namespace {

using Int = std::int32_t;
using Figures = std::vector<std::pair<std::string, double>>;

constexpr std::size_t article_ints = 10'000;
// Enough work per sample that small sizes are not one clock tick.
constexpr std::size_t bytes_per_sample = 512 * KiB;

void add_one(std::span<std::byte> bytes) {
  for (std::size_t i = 0; i + sizeof(Int) <= bytes.size(); i += sizeof(Int)) {
    Int value;  // memcpy: the bytes hold no Int objects; this is a load and a store
    std::memcpy(&value, bytes.data() + i, sizeof value);
    ++value;
    std::memcpy(bytes.data() + i, &value, sizeof value);
  }
}

void by_read(const std::string& path, std::size_t bytes) {
  auto file = Device::open(path);
  // A fresh buffer per run, as the article's program has.
  std::vector<std::byte> buffer(bytes);
  for (std::size_t done = 0; done < bytes;) {
    const auto n = file.pread(std::span{buffer}.subspan(done), done);
    if (n == 0) throw std::runtime_error("seed-002: short read of " + path);
    done += n;
  }
  add_one(buffer);
  for (std::size_t done = 0; done < bytes;) {
    done += file.pwrite(std::span<const std::byte>{buffer}.subspan(done), done);
  }
  file.close();
}

void by_mmap(const std::string& path, Strategy strategy, std::size_t bytes) {
  auto file = open_with(path, strategy);
  auto mapping = Mapping::map(file, bytes);
  add_one(mapping.bytes());
  mapping.unmap();
  file.close();
}

template <class F>
Variant timed(const std::string& name, const std::string& backend, std::size_t bytes, F f) {
  return {name, backend, [bytes, f] {
            const auto n = std::max<std::size_t>(1, bytes_per_sample / bytes);
            const auto start = now_ns();
            for (std::size_t i = 0; i < n; ++i) f();
            const auto us = static_cast<double>(now_ns() - start) / 1000.0;
            return Figures{{"us/run", us / static_cast<double>(n)}};
          }};
}

}  // namespace

void seed_002(Results& results, const Config& config) {
  if (config.device.empty()) return;
  const std::vector<std::size_t> wanted{4 * KiB, 64 * KiB, 1 * MiB, 4 * MiB, 64 * MiB};
  // The article's workload first; size 40,000 marks it in the results.
  std::vector<std::size_t> sizes{article_ints * sizeof(Int)};
  for (const auto size : device_sizes(results, config, "seed-002", wanted)) sizes.push_back(size);

  const auto& path = config.device;
  for (const auto bytes : sizes) {
    const bool article = bytes == article_ints * sizeof(Int);
    progress(
        fmt::format("seed-002 {} {}", config.backend, article ? "10,000 ints" : size_label(bytes)));
    // read+write once per repetition, next to mmap with every strategy.
    std::vector<Variant> variants{
        timed("read+write", config.backend, bytes, [&path, bytes] { by_read(path, bytes); })};
    for (const auto strategy : config.strategies) {
      variants.push_back(timed("mmap/" + strategy_name(strategy), config.backend, bytes,
                               [&path, strategy, bytes] { by_mmap(path, strategy, bytes); }));
    }
    const auto op = article ? "10,000 ints" : "sweep";
    const auto samples =
        compare(results, {"seed-002", op, bytes, "", false}, variants, config.reps);

    // read+write's row once per strategy, with the ratio read/write ÷ mmap.
    const auto first = results.rows.size() - variants.size();
    const Row plain = results.rows[first];
    results.rows.erase(results.rows.begin() + static_cast<std::ptrdiff_t>(first));
    for (std::size_t v = 1; v < variants.size(); ++v) {
      Row row = plain;
      row.baseline = variants[v].name;
      row.ratio = summarize(paired_ratios(samples[0], samples[v]));
      const double r = row.ratio->median;
      results.rows.push_back(std::move(row));
      if (!article) continue;
      const char* verdict = r >= 2.0 && r <= 3.0 ? "holds"
                            : r > 3.0            ? "does not hold: the gap is wider"
                                                 : "does not hold: the gap is narrower";
      results.notes.push_back(fmt::format(
          "seed-002 ({} backend, {}): read/write took {:.2f}x as long as mmap for the article's "
          "10,000 ints; the seed's 2-3x {}",
          config.backend, variants[v].name, r, verdict));
    }
  }
}

}  // namespace mmapdemo::bench
