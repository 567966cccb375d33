// SPDX-License-Identifier: GPL-2.0
// Only root may open the device (node mode 0600), and a file opened
// read-only gives read-only shared mappings: neither mmap() nor a later
// mprotect() can make them writable.
#include <grp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

const std::string path{default_path};

TEST_CASE("permissions: the device node is a root-only character device", "[permissions]") {
  require_device();
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == 0);
  CHECK(st.st_gid == 0);
}

TEST_CASE("permissions: an unprivileged process cannot open the device", "[permissions]") {
  require_root();
  require_device();
  constexpr uid_t nobody = 65534;
  // Numeric ids only: a static binary must not look up users (NSS).
  CHECK(run_in_child([] {
          if (::setgroups(0, nullptr) != 0) return 1;
          if (::setgid(nobody) != 0) return 2;
          if (::setuid(nobody) != 0) return 3;
          if (::geteuid() != nobody || ::getegid() != nobody) return 4;
          int step = 5;
          for (const int flags : {O_RDWR, O_RDONLY, O_WRONLY}) {
            std::error_code ec;
            const auto device = Device::open(path, flags, ec);
            if (ec != std::errc::permission_denied) return step;
            ++step;
          }
          return 0;
        }) == ChildStatus::exited(0));
}

TEST_CASE_METHOD(DeviceTest, "permissions: a read-only file maps shared only for reading",
                 "[permissions]") {
  open(GENERATE(from_range(all_strategies)), O_RDONLY);
  const auto seed2 = new_seed();
  const auto writer = open_device(strategy);
  write_all(writer, pattern(page, 0, seed), 0);

  CHECK(mmap_error(page, PROT_READ | PROT_WRITE, MAP_SHARED, device.fd()) ==
        std::errc::permission_denied);

  // A read-only shared mapping works with either strategy and follows the buffer.
  auto mapping = Mapping::map(device, page, 0, Protection::read_only, Sharing::shared);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
  write_all(writer, pattern(page, 0, seed2), 0);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed2));

  CHECK(sys_error(::mprotect(mapping.data(), page, PROT_READ | PROT_WRITE)) ==
        std::errc::permission_denied);
  CHECK(terminating_signal([&] { poke(mapping.data(), std::byte{1}); }) == SIGSEGV);

  std::error_code ec;
  CHECK(device.pwrite(pattern(16, 0, seed), 0, ec) == 0);
  CHECK(ec == std::errc::bad_file_descriptor);
  CHECK_THAT(read_all(device, page, 0), HasPattern(0, seed2));
}

}  // namespace
