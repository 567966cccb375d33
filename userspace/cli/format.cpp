// SPDX-License-Identifier: GPL-2.0
#include "format.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace mmapdemo::cli {

std::optional<std::uint64_t> parse_byte_count(std::string_view text) noexcept {
  std::uint64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        unit = std::uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        unit = std::uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        unit = std::uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (unit != 1) text.remove_suffix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    return std::nullopt;  // "010" means 8 to strtoul and 10 to a person: neither
  }
  // from_chars takes no sign or prefix of its own, so "-1" and "0x-1" fail here.
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value > std::numeric_limits<std::uint64_t>::max() / unit) return std::nullopt;
  return value * unit;
}

namespace {

constexpr std::size_t line_bytes = 16;

bool printable(unsigned char c) { return c >= 0x20 && c < 0x7f; }

}  // namespace

void Hexdump::feed(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const auto take = std::min(bytes.size(), line_bytes - pending_.size());
    for (const auto byte : bytes.first(take)) pending_.push_back(static_cast<char>(byte));
    bytes = bytes.subspan(take);
    if (pending_.size() == line_bytes) {
      line(std::as_bytes(std::span{pending_}));
      pending_.clear();
    }
  }
}

void Hexdump::finish() {
  if (!pending_.empty()) line(std::as_bytes(std::span{pending_}));
  pending_.clear();
  fmt::print(out_, "{:08x}\n", offset_);
}

void Hexdump::line(std::span<const std::byte> bytes) {
  const std::string_view text{reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  const auto start = offset_;
  offset_ += bytes.size();
  // Like hexdump: a full line equal to the one before becomes one "*".
  if (bytes.size() == line_bytes && text == previous_) {
    if (!squeezing_) fmt::print(out_, "*\n");
    squeezing_ = true;
    return;
  }
  squeezing_ = false;
  previous_.assign(text);

  std::string out = fmt::format("{:08x}  ", start);
  for (std::size_t i = 0; i < line_bytes; ++i) {
    if (i < bytes.size()) {
      out += fmt::format("{:02x} ", std::to_integer<unsigned>(bytes[i]));
    } else {
      out += "   ";
    }
    if (i == line_bytes / 2 - 1) out += ' ';
  }
  out += " |";
  for (const auto byte : bytes) {
    const auto c = std::to_integer<unsigned char>(byte);
    out += printable(c) ? static_cast<char>(c) : '.';
  }
  out += "|\n";
  std::fputs(out.c_str(), out_);
}

std::string quoted_text(std::span<const std::byte> bytes) {
  const std::string_view text{reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  return fmt::format("{:?}", text.substr(0, text.find('\0')));
}

}  // namespace mmapdemo::cli
