// SPDX-License-Identifier: GPL-2.0
// A directory of its own under $TMPDIR (or /tmp), removed with the files
// named through it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mmapdemo::base {

class TempDir {
 public:
  // mkdtemp() of <tmp>/<stem>-XXXXXX; throws std::system_error.
  explicit TempDir(std::string_view stem);
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  // The path of name inside; it is removed with the directory.
  [[nodiscard]] std::string file(std::string_view name);
  // The same, created as an empty file of its own (O_EXCL, mode 0600);
  // throws std::system_error.
  [[nodiscard]] std::string create(std::string_view name);

 private:
  std::string path_;
  std::vector<std::string> files_;
};

}  // namespace mmapdemo::base
