// SPDX-License-Identifier: GPL-2.0
// Device nodes outside devtmpfs, as containers make them with mknod on a
// tmpfs /dev: the buffer's address_space is the driver's own, so such a
// node may be opened first, mapped, resized through, and its filesystem
// unmounted while and after a mapping exists, with the module still
// unloadable and the kernel log clean. Each test reloads the module first,
// so that the tmpfs node is the first the driver ever sees opened.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>

#include "support.hpp"

namespace {

using namespace mmapdemo;
using namespace mmapdemo::test;

// A tmpfs mounted on a fresh directory under /tmp, with a node of the
// device in it; unmounted (lazily, if still busy) and removed at the end.
class TmpfsNode {
 public:
  TmpfsNode() {
    std::string tmpl = "/tmp/mmapdemo-tmpfs-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(last_error(), "mkdtemp");
    dir_ = tmpl;
    if (::mount("mmapdemo-test", dir_.c_str(), "tmpfs", 0, "size=64k") != 0) {
      const auto ec = last_error();
      ::rmdir(dir_.c_str());
      if (ec == std::errc::no_such_device) SKIP("the kernel has no tmpfs (CONFIG_TMPFS)");
      throw std::system_error(ec, "mount tmpfs on " + dir_);
    }
    mounted_ = true;
    const auto numbers = read_text(sysfs_path("dev"));  // "10:123\n"
    const auto colon = numbers.find(':');
    if (colon == std::string::npos) throw std::runtime_error("bad dev: " + numbers);
    const auto major = static_cast<unsigned>(std::stoul(numbers.substr(0, colon)));
    const auto minor = static_cast<unsigned>(std::stoul(numbers.substr(colon + 1)));
    node_ = dir_ + "/mmapdemo";
    if (::mknod(node_.c_str(), S_IFCHR | 0600, makedev(major, minor)) != 0) {
      throw std::system_error(last_error(), "mknod " + node_);
    }
  }
  TmpfsNode(const TmpfsNode&) = delete;
  TmpfsNode& operator=(const TmpfsNode&) = delete;
  ~TmpfsNode() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    ::rmdir(dir_.c_str());
  }

  [[nodiscard]] const std::string& node() const noexcept { return node_; }

  // umount2(2) with flags; its errno, or an empty code once unmounted.
  [[nodiscard]] std::error_code unmount(int flags = 0) {
    const auto ec = sys_error(::umount2(dir_.c_str(), flags));
    if (!ec) mounted_ = false;
    return ec;
  }

 private:
  std::string dir_;
  std::string node_;
  bool mounted_ = false;
};

// What the VFS says when a filesystem goes while one of its inodes is held.
std::vector<std::string> busy_inode_reports(KernelLog& log) {
  std::vector<std::string> found;
  for (auto& message : log.new_messages()) {
    if (message.find("Busy inodes") != std::string::npos ||
        message.find("busy inodes") != std::string::npos) {
      found.push_back(std::move(message));
    }
  }
  return found;
}

TEST_CASE("nodes: a tmpfs node opened first can be unmounted after its mapping is gone",
          "[nodes]") {
  auto module = Module::require();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  module.reload();
  const auto page = page_size();
  const auto seed = new_seed();
  KernelLog log;
  {
    TmpfsNode tmpfs;
    {
      auto first = Device::open(tmpfs.node());
      first.set_strategy(strategy);
      auto mapping = Mapping::map(first, 2 * page);
      fill_pattern(mapping.bytes(), 0, seed);

      const auto devtmpfs = open_device(other(strategy));
      const auto other_mapping = Mapping::map(devtmpfs, 2 * page);
      CHECK_THAT(other_mapping.bytes(), HasPattern(0, seed));
    }
    REQUIRE(tmpfs.unmount() == no_error);
  }
  CHECK(busy_inode_reports(log).empty());

  // The device goes on as before.
  const auto device = open_device(strategy);
  CHECK_THAT(read_all(device, 2 * page, 0), HasPattern(0, seed));
  const auto mapping = Mapping::map(device, 2 * page);
  CHECK_THAT(mapping.bytes(), HasPattern(0, seed));
}

TEST_CASE("nodes: a tmpfs unmounted under a mapping through its node keeps it working", "[nodes]") {
  auto module = Module::require();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  module.reload();
  const auto page = page_size();
  const std::size_t size = read_number(sysfs_path("size"));  // opens no node
  REQUIRE(size >= 2 * page);
  const auto seed = new_seed();
  KernelLog log;
  {
    TmpfsNode tmpfs;
    auto device = Device::open(tmpfs.node());
    device.set_strategy(strategy);
    auto mapping = Mapping::map(device, size);
    device.close();

    // The mapping holds its file, and the file the mount: only a lazy
    // unmount takes the tmpfs out of the tree now.
    CHECK(tmpfs.unmount() == std::errc::device_or_resource_busy);
    REQUIRE(tmpfs.unmount(MNT_DETACH) == no_error);

    fill_pattern(mapping.bytes(), 0, seed);
    const auto devtmpfs = open_device(other(strategy));
    CHECK_THAT(read_all(devtmpfs, size, 0), HasPattern(0, seed));

    // A resize through another node still unmaps this mapping.
    devtmpfs.resize(size / 2);
    CHECK(terminating_signal([&] { touch(mapping.data() + size - 1); }) == SIGBUS);
    CHECK_THAT(mapping.bytes().first(size / 2), HasPattern(0, seed));
    devtmpfs.resize(size);
    CHECK(module.try_unload() == std::errc::resource_unavailable_try_again);
    // The last reference to the tmpfs goes with the mapping.
  }
  CHECK(busy_inode_reports(log).empty());
  REQUIRE(module.try_unload() == no_error);
  module.load();
  CHECK(Device::open().info().size == size);
}

// Mappings through three nodes on three filesystems (devtmpfs, a tmpfs and
// the guest's root) all lose the pages past a smaller end.
TEST_CASE("nodes: a resize unmaps the mappings made through every node", "[nodes]") {
  auto module = Module::require();
  const auto strategy = GENERATE(from_range(all_strategies));
  CAPTURE(strategy);
  module.reload();
  const RestoreSize restore;
  const auto size = restore.original();
  KernelLog log;
  {
    TmpfsNode tmpfs;
    auto on_tmpfs = Device::open(tmpfs.node());
    on_tmpfs.set_strategy(strategy);
    const auto on_devtmpfs = open_device(strategy);
    const std::string root_node = "/tmp/mmapdemo-root-node";
    ::unlink(root_node.c_str());
    struct stat st {};
    REQUIRE(::stat(tmpfs.node().c_str(), &st) == 0);
    REQUIRE(::mknod(root_node.c_str(), S_IFCHR | 0600, st.st_rdev) == 0);
    auto on_root = Device::open(root_node);
    ::unlink(root_node.c_str());
    on_root.set_strategy(strategy);

    std::vector<Mapping> mappings;
    for (const Device* device :
         std::initializer_list<const Device*>{&on_tmpfs, &on_devtmpfs, &on_root}) {
      mappings.push_back(Mapping::map(*device, size));
      touch(mappings.back().data() + size - 1);
    }
    on_devtmpfs.resize(size / 2);
    for (const auto& mapping : mappings) {
      CHECK(terminating_signal([&] { touch(mapping.data() + size - 1); }) == SIGBUS);
      CHECK(terminating_signal([&] { touch(mapping.data() + size / 2 - 1); }) == 0);
    }
  }
  CHECK(busy_inode_reports(log).empty());
}

}  // namespace
