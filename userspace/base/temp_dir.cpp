// SPDX-License-Identifier: GPL-2.0
#include "mmapdemo/base/temp_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "mmapdemo/base/fd.hpp"

namespace mmapdemo::base {

TempDir::TempDir(std::string_view stem) {
  const char* const tmp = std::getenv("TMPDIR");
  std::string pattern = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  pattern.append("/").append(stem).append("-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  path_ = std::move(pattern);
}

TempDir::~TempDir() {
  for (const auto& file : files_) ::unlink(file.c_str());
  ::rmdir(path_.c_str());
}

std::string TempDir::file(std::string_view name) {
  files_.push_back(path_ + "/" + std::string{name});
  return files_.back();
}

std::string TempDir::create(std::string_view name) {
  auto path = file(name);
  const UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd) throw std::system_error(errno, std::generic_category(), "open " + path);
  return path;
}

}  // namespace mmapdemo::base
