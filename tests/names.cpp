// SPDX-License-Identifier: GPL-2.0
// Linked into every test binary: the rules its test case names keep.
#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include <catch2/catch_test_case_info.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/interfaces/catch_interfaces_registry_hub.hpp>
#include <catch2/interfaces/catch_interfaces_testcase.hpp>

namespace {

// The guest runner passes each name to Catch2 as a filter through a shell:
// names keep to characters that need no quoting there and mean nothing to
// Catch2's filter syntax, and start with their file's tag. Underscores are
// allowed so that a name can spell what it tests as the headers do
// (MADV_POPULATE_READ, SET_STRATEGY) and be found by searching for it.
TEST_CASE("library: test case names are safe filters and start with their tag", "[library]") {
  const auto& tests = Catch::getRegistryHub().getTestCaseRegistry().getAllInfos();
  REQUIRE_FALSE(tests.empty());
  std::set<std::string> names;
  for (const auto* test : tests) {
    const std::string name{test->name};
    CAPTURE(name);
    CHECK(std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             std::string_view{" -:/.+=_"}.find(c) != std::string_view::npos;
    }));
    CHECK(names.insert(name).second);
    REQUIRE(test->tags.size() == 1);
    const std::string tag{test->tags.front().original};
    CHECK(name.starts_with(tag + ": "));
  }
}

}  // namespace
