// SPDX-License-Identifier: GPL-2.0
// The benchmark harness's statistics and its JSON results (host-only): the
// figures `make bench` reports are only as good as these.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>

#include "report.hpp"
#include "stats.hpp"

namespace bench = mmapdemo::bench;
using Catch::Approx;

TEST_CASE("bench stats: median of odd and even counts, in any order", "[bench]") {
  const std::vector<double> odd{5, 1, 3};
  const std::vector<double> even{4, 1, 3, 2};
  CHECK(bench::median(odd) == 3);
  CHECK(bench::median(even) == 2.5);
  CHECK(std::isnan(bench::median(std::vector<double>{})));
}

TEST_CASE("bench stats: quantiles interpolate between order statistics", "[bench]") {
  const std::vector<double> v{10, 20, 30, 40, 50};
  CHECK(bench::quantile(v, 0.0) == 10);
  CHECK(bench::quantile(v, 1.0) == 50);
  CHECK(bench::quantile(v, 0.25) == 20);
  CHECK(bench::quantile(v, 0.1) == Approx(14));
}

TEST_CASE("bench stats: spread is the interquartile range relative to the median", "[bench]") {
  const std::vector<double> v{90, 95, 100, 105, 110};
  const auto s = bench::summarize(v);
  CHECK(s.n == 5);
  CHECK(s.median == 100);
  CHECK(s.spread == Approx(0.10));
  const std::vector<double> same{7, 7, 7};
  CHECK(bench::summarize(same).spread == 0);
}

TEST_CASE("bench stats: NaN samples are repetitions without the figure", "[bench]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> some{nan, 4, 2, nan, 3};
  const auto s = bench::summarize(some);
  CHECK(s.n == 3);
  CHECK(s.median == 3);
  CHECK(s.spread == Approx(1.0 / 3));
  const auto none = bench::summarize(std::vector<double>{nan, nan});
  CHECK(none.n == 0);
  CHECK(std::isnan(none.median));
  CHECK(std::isnan(none.spread));
}

TEST_CASE("bench stats: paired ratios divide repetition by repetition", "[bench]") {
  const std::vector<double> a{2, 6, 12};
  const std::vector<double> b{1, 3, 4};
  CHECK(bench::paired_ratios(a, b) == std::vector<double>{2, 2, 3});
  const std::vector<double> shorter{1};
  CHECK_THROWS_AS(bench::paired_ratios(a, shorter), std::invalid_argument);
}

TEST_CASE("bench stats: slope of a least-squares line", "[bench]") {
  const std::vector<double> x{1, 2, 3, 4};
  const std::vector<double> y{12, 14, 16, 18};  // 10 + 2x
  CHECK(bench::slope(x, y) == Approx(2));
  const std::vector<double> one{1};
  CHECK(std::isnan(bench::slope(one, one)));
}

TEST_CASE("bench json: rows keep their order, a missing ratio and NaN are null", "[bench]") {
  bench::Results results;
  bench::Row row;
  row.part = "bandwidth";
  row.op = "sum";
  row.backend = "kmalloc";
  row.variant = "a \"quoted\"\\path\n";
  row.size = 4096;
  row.unit = "GB/s";
  row.value = {1.5, std::numeric_limits<double>::quiet_NaN(), 10};
  row.baseline = "anon";
  row.more_ratios = {{"remap", {2, 0.25, 10}}};
  results.rows.push_back(row);
  results.notes.push_back("one note");

  const auto text = bench::results_json(results, bench::Json{{"label", "x"}}).dump();
  CHECK(text ==
        R"({"schema":"mmapdemo-bench/1","env":{"label":"x"},"rows":[{"part":"bandwidth",)"
        R"("op":"sum","backend":"kmalloc","variant":"a \"quoted\"\\path\n","size":4096,)"
        R"("unit":"GB/s","higher_is_better":true,"value":{"median":1.5,"spread":null,"n":10},)"
        R"("baseline":"anon","ratio":null,"more_ratios":{"remap":{"median":2.0,"spread":0.25,)"
        R"("n":10}}}],"notes":["one note"]})");
}
