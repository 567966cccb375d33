// SPDX-License-Identifier: GPL-2.0
// The benchmark harness's statistics and JSON writer (host-only): the
// figures `make bench` reports are only as good as these.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>

#include "json.hpp"
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

TEST_CASE("bench json: objects, arrays, commas and escapes", "[bench]") {
  bench::JsonWriter json;
  json.begin_object();
  json.key("name").value("a \"quoted\"\\path\n");
  json.key("list").begin_array().value(std::int64_t{-1}).value(std::uint64_t{2}).value(0.5);
  json.value(true).null().end_array();
  json.key("empty").begin_object().end_object();
  json.key("nan").value(std::numeric_limits<double>::quiet_NaN());
  json.end_object();
  CHECK(json.str() ==
        R"({"name":"a \"quoted\"\\path\n","list":[-1,2,0.5,true,null],"empty":{},"nan":null})");
  CHECK(bench::json_quote(std::string_view{"\x01", 1}) == "\"\\u0001\"");
}

TEST_CASE("bench json: misuse throws instead of writing bad JSON", "[bench]") {
  bench::JsonWriter open;
  open.begin_array();
  CHECK_THROWS_AS(open.str(), std::logic_error);
  bench::JsonWriter no_key;
  no_key.begin_object();
  CHECK_THROWS_AS(no_key.value(1.0), std::logic_error);
  bench::JsonWriter unbalanced;
  unbalanced.begin_object();
  CHECK_THROWS_AS(unbalanced.end_array(), std::logic_error);
}
