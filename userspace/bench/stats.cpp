// SPDX-License-Identifier: GPL-2.0
#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <stdexcept>

namespace mmapdemo::bench {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
}

double quantile(std::span<const double> samples, double q) {
  if (samples.empty()) return nan;
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

double median(std::span<const double> samples) { return quantile(samples, 0.5); }

Summary summarize(std::span<const double> samples) {
  std::vector<double> known;
  known.reserve(samples.size());
  std::copy_if(samples.begin(), samples.end(), std::back_inserter(known),
               [](double x) { return !std::isnan(x); });
  Summary s;
  s.n = known.size();
  s.median = median(known);
  const double iqr = quantile(known, 0.75) - quantile(known, 0.25);
  s.spread = s.median != 0 ? iqr / std::abs(s.median) : (known.empty() ? nan : 0.0);
  return s;
}

std::vector<double> paired_ratios(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) throw std::invalid_argument("paired_ratios: lengths differ");
  std::vector<double> out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = b[i] != 0 ? a[i] / b[i] : nan;
  return out;
}

double slope(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size() || x.size() < 2) return nan;
  double mx = 0;
  double my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(y.size());
  double sxy = 0;
  double sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxx > 0 ? sxy / sxx : nan;
}

}  // namespace mmapdemo::bench
