// SPDX-License-Identifier: GPL-2.0
// Statistics of the benchmark harness: medians, spread and paired ratios of
// repeated, interleaved samples.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace mmapdemo::bench {

// One figure of a variant over its repetitions.
struct Summary {
  double median = 0;
  // Interquartile range relative to the median: 0.04 means the middle half of
  // the repetitions lay within 4 % of the median's size. Under TCG the
  // ordering of variants is only trustworthy when spreads are small.
  double spread = 0;
  std::size_t n = 0;
};

// The q-quantile (0 <= q <= 1) with linear interpolation between order
// statistics, as numpy's default does. NaN for no samples.
[[nodiscard]] double quantile(std::span<const double> samples, double q);

[[nodiscard]] double median(std::span<const double> samples);

// NaN samples stand for repetitions without that figure (e.g. a share of
// zero faults) and are left out: n counts the others.
[[nodiscard]] Summary summarize(std::span<const double> samples);

// Per-repetition ratios a[i] / b[i]: samples of one repetition were measured
// next to each other, so their ratio cancels slow drifts of the machine that
// a ratio of two medians would keep. Throws std::invalid_argument when the
// lengths differ.
[[nodiscard]] std::vector<double> paired_ratios(std::span<const double> a,
                                                std::span<const double> b);

// Least-squares slope of y over x; NaN with fewer than two distinct x.
[[nodiscard]] double slope(std::span<const double> x, std::span<const double> y);

}  // namespace mmapdemo::bench
