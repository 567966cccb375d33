// SPDX-License-Identifier: GPL-2.0
// The internal foundation every program shares (userspace/base): children
// that report what failed, full reads and writes, temporary directories,
// owned descriptors and ranges. No device needed: these run on the host too.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <mmapdemo/base/child.hpp>
#include <mmapdemo/base/fd.hpp>
#include <mmapdemo/base/io.hpp>
#include <mmapdemo/base/region.hpp>
#include <mmapdemo/base/temp_dir.hpp>

#include "support.hpp"

namespace mmapdemo::test {
namespace {

using Catch::Matchers::ContainsSubstring;

TEST_CASE("base: a child that throws exits with 125 and its message comes back", "[base]") {
  const auto status = run_in_child([]() -> int { throw std::runtime_error("step 3: no page"); });
  CHECK(status == ChildStatus::exited(125));
  CHECK(status.message == "step 3: no page");
  CHECK_THAT(describe(status), ContainsSubstring("status 125") && ContainsSubstring("no page"));
}

TEST_CASE("base: what a child says last is its message and its status is what it returns",
          "[base]") {
  const auto status = run_in_child([] {
    base::Child::say("first");
    base::Child::say("pwrite: Bad address");
    return 2;
  });
  CHECK(status == ChildStatus::exited(2));
  CHECK(status.message == "pwrite: Bad address");
}

TEST_CASE("base: a child past its deadline is killed and says so", "[base]") {
  Child child{[] {
    ::pause();
    return 0;
  }};
  const auto status = child.wait(50ms);
  CHECK(status.kind == ChildStatus::Kind::timed_out);
  CHECK_THAT(describe(status), ContainsSubstring("in time"));
}

// A new file in a directory of its own, for the read and write helpers.
class DataFile {
 protected:
  DataFile() { REQUIRE(fd); }
  // Writes bytes of the seed's pattern from offset 0 and returns them.
  std::vector<std::byte> write_pattern(std::size_t bytes) {
    auto written = pattern(bytes, 0, new_seed());
    base::write_all(fd.get(), written, 0, "pwrite data");
    return written;
  }

  base::TempDir dir{"mmapdemo-base"};
  const base::UniqueFd fd{::open(dir.file("data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
};

TEST_CASE_METHOD(
    DataFile, "base: write_all and read_all move every byte and read_all fails with EIO at the end",
    "[base]") {
  const auto written = write_pattern(3 * 4096 + 5);
  std::vector<std::byte> read(written.size());
  base::read_all(fd.get(), read, 0, "pread data");
  CHECK(read == written);

  std::vector<std::byte> past(16);
  const auto error =
      thrown_by([&] { base::read_all(fd.get(), past, written.size() - 8, "pread data"); });
  CHECK(error.code() == std::errc::io_error);
  CHECK_THAT(error.what(), ContainsSubstring("pread data") && ContainsSubstring("8 bytes short"));
}

TEST_CASE("base: write_all names the call and keeps errno when the descriptor is bad", "[base]") {
  const std::vector<std::byte> bytes(8);
  const auto error = thrown_by([&] { base::write_all(-1, bytes, 0, "pwrite nowhere"); });
  CHECK(error.code() == std::errc::bad_file_descriptor);
  CHECK_THAT(error.what(), ContainsSubstring("pwrite nowhere"));
}

TEST_CASE("base: read_to_end tells a peer that closed early from a read that failed", "[base]") {
  auto pipe = base::make_pipe();
  const std::vector<std::byte> sent(5, std::byte{7});
  REQUIRE(base::write_fully(pipe.write.get(), sent));
  pipe.write.reset();
  std::vector<std::byte> into(8);
  std::error_code ec = std::make_error_code(std::errc::io_error);
  CHECK(base::read_to_end(pipe.read.get(), into, ec) == sent.size());
  CHECK_FALSE(ec);

  CHECK(base::read_to_end(-1, into, ec) == 0);
  CHECK(ec == std::errc::bad_file_descriptor);
}

TEST_CASE_METHOD(
    DataFile, "base: read_to_end into a vector takes all there is and names the call on an error",
    "[base]") {
  // More than the first room it reads into, so that it has to grow.
  const auto written = write_pattern(200 * 1024 + 3);
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  CHECK(base::read_to_end(fd.get(), "read data") == written);

  const auto error = thrown_by([] { static_cast<void>(base::read_to_end(-1, "read nowhere")); });
  CHECK(error.code() == std::errc::bad_file_descriptor);
  CHECK_THAT(error.what(), ContainsSubstring("read nowhere"));
}

TEST_CASE("base: a temporary directory goes away with the files named through it", "[base]") {
  std::string path;
  {
    base::TempDir dir{"mmapdemo-base"};
    path = dir.path();
    const base::UniqueFd fd{::open(dir.file("x").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)};
    REQUIRE(fd);
    REQUIRE(::access(path.c_str(), F_OK) == 0);
  }
  CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("base: a reservation faults everywhere until something is mapped over it", "[base]") {
  auto range = base::Region::reserve(2 * page_size());
  CHECK(terminating_signal([&] { static_cast<void>(touch(range.data())); }) == SIGSEGV);
  range.map_over(page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0,
                 "anonymous over the reservation");
  CHECK(terminating_signal([&] { poke(range.data(), std::byte{1}); }) == 0);
  CHECK(terminating_signal([&] { static_cast<void>(touch(range.data() + page_size())); }) ==
        SIGSEGV);
}

TEST_CASE("base: a moved descriptor is closed once by its last owner", "[base]") {
  auto pipe = base::make_pipe();
  const int read_end = pipe.read.get();
  base::UniqueFd moved{std::move(pipe.read)};
  CHECK_FALSE(pipe.read);
  CHECK(::fcntl(read_end, F_GETFD) >= 0);
  moved.reset();
  CHECK(::fcntl(read_end, F_GETFD) < 0);
}

}  // namespace
}  // namespace mmapdemo::test
