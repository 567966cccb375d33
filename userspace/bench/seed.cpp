// SPDX-License-Identifier: GPL-2.0
// Part 3, seed 002: the experiment of read_vs_mmap.hpp on the buffer, read
// and write against mmap with every strategy. First the article's exact
// 10,000 ints, then a sweep of sizes. The ratio is read/write ÷ mmap.
#include <algorithm>

#include <fmt/core.h>

#include "parts.hpp"
#include "read_vs_mmap.hpp"

namespace mmapdemo::bench {

namespace {

using Figures = std::vector<std::pair<std::string, double>>;

constexpr std::size_t article_ints = 10'000;
// Enough work per sample that small sizes are not one clock tick.
constexpr std::size_t bytes_per_sample = 512 * KiB;

template <class F>
Variant timed(const std::string& name, const std::string& backend, std::size_t bytes, F f) {
  return {name, backend, [bytes, f] {
            const auto runs = std::max<std::size_t>(1, bytes_per_sample / bytes);
            return Figures{{"us/run", micros_per_run(runs, f)}};
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
    std::vector<Variant> variants{timed("read+write", config.backend, bytes,
                                        [&path, bytes] { add_one_by_read(path, bytes); })};
    for (const auto strategy : config.strategies) {
      variants.push_back(
          timed("mmap/" + strategy_name(strategy), config.backend, bytes,
                [&path, strategy, bytes] { add_one_by_mmap(path, bytes, strategy); }));
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
