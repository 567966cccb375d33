// SPDX-License-Identifier: GPL-2.0
// How the mmapdemo command reads numbers and shows bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mmapdemo::cli {

// "4096", "0x1000", "4K", "1M", "2G" (K, M, G are powers of 1024, either
// case). Nothing else: no sign, no octal, no spaces. nullopt for anything
// else or for a value above 2^64 - 1.
[[nodiscard]] std::optional<std::uint64_t> parse_byte_count(std::string_view text) noexcept;

// Bytes as `hexdump -C` shows them, with offsets counted from the first
// byte fed: 16 bytes a line, hex then printable ASCII, identical lines
// squeezed to "*", and a last line with the end offset.
class Hexdump {
 public:
  Hexdump(std::FILE* out, std::uint64_t offset) noexcept : out_{out}, offset_{offset} {}

  // May be called many times; lines continue across calls.
  void feed(std::span<const std::byte> bytes);
  void finish();

 private:
  void line(std::span<const std::byte> bytes);

  std::FILE* out_;
  std::uint64_t offset_;    // of the next byte fed
  std::string pending_;     // bytes of an incomplete line
  std::string previous_;    // the last full line printed, for squeezing
  bool squeezing_ = false;  // "*" printed for the lines since previous_
};

// The text in bytes up to the first NUL as fmt's {:?} quotes it: in double
// quotes, with C escapes for quotes, backslashes, control characters and
// bytes that are not UTF-8: "hi\n\x01", "café" as it is.
[[nodiscard]] std::string quoted_text(std::span<const std::byte> bytes);

}  // namespace mmapdemo::cli
