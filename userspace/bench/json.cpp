// SPDX-License-Identifier: GPL-2.0
#include "json.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/core.h>

namespace mmapdemo::bench {

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void JsonWriter::before_value() {
  if (open_.empty()) {
    if (!out_.empty()) throw std::logic_error("json: a second top-level value");
    return;
  }
  if (open_.back() == Scope::object) {
    if (!after_key_) throw std::logic_error("json: object member without a key");
    after_key_ = false;
    return;
  }
  if (!first_) out_ += ',';
  first_ = false;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  open_.push_back(Scope::object);
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_ += '[';
  open_.push_back(Scope::array);
  first_ = true;
  return *this;
}

void JsonWriter::close(Scope scope, char c) {
  if (open_.empty() || open_.back() != scope || after_key_) {
    throw std::logic_error("json: unbalanced end");
  }
  open_.pop_back();
  out_ += c;
  first_ = false;
}

JsonWriter& JsonWriter::end_object() {
  close(Scope::object, '}');
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(Scope::array, ']');
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (open_.empty() || open_.back() != Scope::object || after_key_) {
    throw std::logic_error("json: key outside an object");
  }
  if (!first_) out_ += ',';
  first_ = false;
  out_ += json_quote(name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  before_value();
  out_ += json_quote(text);
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  before_value();
  // fmt's default is the shortest text that reads back as the same double.
  out_ += std::isfinite(number) ? fmt::format("{}", number) : "null";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  before_value();
  out_ += fmt::format("{}", number);
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t number) {
  before_value();
  out_ += fmt::format("{}", number);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  before_value();
  out_ += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

const std::string& JsonWriter::str() const {
  if (!open_.empty() || out_.empty()) throw std::logic_error("json: document incomplete");
  return out_;
}

}  // namespace mmapdemo::bench
