// SPDX-License-Identifier: GPL-2.0
// A small streaming JSON writer: the guest binaries are static, and what the
// harness emits (objects of numbers and short strings) needs no library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mmapdemo::bench {

// Appends compact JSON to a string. Commas are placed automatically; the
// caller nests begin_/end_ calls correctly and gives every object member a
// key() first (a misuse throws std::logic_error). Non-finite doubles are
// written as null, which JSON has instead of NaN and infinities.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view{text}); }
  JsonWriter& value(double number);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(bool flag);
  JsonWriter& null();

  // The document; throws std::logic_error while something is still open.
  [[nodiscard]] const std::string& str() const;

 private:
  enum class Scope { object, array };
  void before_value();
  void close(Scope scope, char c);

  std::string out_;
  std::vector<Scope> open_;
  bool first_ = true;       // no member yet in the innermost scope
  bool after_key_ = false;  // a key() is waiting for its value
};

// text as a JSON string literal, quotes included; control characters are
// \u-escaped, other UTF-8 passes through unchanged.
[[nodiscard]] std::string json_quote(std::string_view text);

}  // namespace mmapdemo::bench
