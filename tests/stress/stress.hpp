// SPDX-License-Identifier: GPL-2.0
// mmapdemo-stress: what the parent (main.cpp) and the workers (worker.cpp)
// share: the configuration, the operation table and the per-worker counters.
#pragma once

#include <sys/mman.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <mmapdemo/base/region.hpp>
#include <mmapdemo/types.hpp>

namespace mmapdemo::stress {

// One kind of random step of a worker. The weights below decide the mix.
enum class Op : std::uint8_t {
  open,            // open one more file, set a random strategy at once
  close,           // close one (its mappings stay)
  map,             // MAP_SHARED inside the own slice or across others'
  map_private,     // MAP_PRIVATE: EINVAL on remap, copy-on-write on fault
  map_refused,     // past the end, beyond, PROT_EXEC, overflow, length 0, ...
  unmap,           // a whole mapping
  fresh_map,       // map a part of the own slice, check it all, unmap
  mremap_shrink,   // works
  mremap_move,     // MREMAP_MAYMOVE | MREMAP_FIXED: works, data follows
  mremap_refused,  // grow: EFAULT; MREMAP_DONTUNMAP: EINVAL
  mprotect,        // read-only and back; PROT_EXEC: EACCES
  fork,            // a child writes through the parent's mappings
  pwrite,          // incl. ENOSPC at the end, a short write across it, EBADF
  pread,           // incl. end of file and a short read across the end
  seek_rw,         // lseek() legal and not, then read()/write() there
  bad_pointer,     // read()/write() with a user buffer that faults
  self_copy,       // pwrite() from, pread() into a mapping of the device
  info,            // GET_INFO, and an unknown ioctl: ENOTTY
  set_strategy,    // EBUSY once mapped, EINVAL for unknown strategies
  doorbell,        // RING, ACK, poll() with timeout 0
  madvise,         // DONTNEED, WILLNEED, COLD, PAGEOUT; msync()
  touch_read,      // read through a mapping, checked against the model
  touch_write,     // write through a mapping (own slice, or a private copy)
};

struct OpInfo {
  Op op;
  std::string_view name;
  unsigned weight;
};

// Reads and writes through mappings dominate: they are where a wrong page
// shows. Fork is the slowest step under TCG, so it is rare.
inline constexpr std::array op_table{
    OpInfo{Op::open, "open", 4},
    OpInfo{Op::close, "close", 3},
    OpInfo{Op::map, "map", 10},
    OpInfo{Op::map_private, "map_private", 5},
    OpInfo{Op::map_refused, "map_refused", 5},
    OpInfo{Op::unmap, "unmap", 7},
    OpInfo{Op::fresh_map, "fresh_map", 3},
    OpInfo{Op::mremap_shrink, "mremap_shrink", 3},
    OpInfo{Op::mremap_move, "mremap_move", 3},
    OpInfo{Op::mremap_refused, "mremap_refused", 2},
    OpInfo{Op::mprotect, "mprotect", 4},
    OpInfo{Op::fork, "fork", 1},
    OpInfo{Op::pwrite, "pwrite", 8},
    OpInfo{Op::pread, "pread", 8},
    OpInfo{Op::seek_rw, "seek_rw", 4},
    OpInfo{Op::bad_pointer, "bad_pointer", 2},
    OpInfo{Op::self_copy, "self_copy", 2},
    OpInfo{Op::info, "info", 2},
    OpInfo{Op::set_strategy, "set_strategy", 2},
    OpInfo{Op::doorbell, "doorbell", 4},
    OpInfo{Op::madvise, "madvise", 4},
    OpInfo{Op::touch_read, "touch_read", 12},
    OpInfo{Op::touch_write, "touch_write", 12},
};
inline constexpr std::size_t op_count = op_table.size();
static_assert(
    [] {
      for (std::size_t i = 0; i < op_count; ++i) {
        if (static_cast<std::size_t>(op_table.at(i).op) != i) return false;
      }
      return true;
    }(),
    "op_table lists the ops in the order of Op");

constexpr std::string_view op_name(Op op) { return op_table.at(static_cast<std::size_t>(op)).name; }

struct Config {
  std::uint64_t seed = 0;
  unsigned processes = 4;
  unsigned duration = 60;  // seconds
  std::uint64_t ops = 0;   // per worker; 0: until the duration is over
  int only_worker = -1;    // run just this worker (replay); -1: all
  std::string device{default_path};
  bool verbose = false;
};

// What the parent learnt from GET_INFO before starting the workers.
struct Geometry {
  Info info;
  std::uint64_t slice_bytes;  // each worker's slice, whole pages
};

// One per worker, in MAP_SHARED anonymous memory: the worker (and its forked
// children, never at the same time) writes it, the parent reads it after the
// worker is gone, even if it died.
struct Stats {
  std::array<std::uint64_t, op_count> counts;
  std::uint64_t ops;
  std::uint64_t mismatches;
  std::uint64_t unexpected;
};

// Runs worker index to its end; returns its exit status (0: all as expected).
int run_worker(const Config& config, const Geometry& geometry, unsigned index, Stats& stats);

// Raw mmap()ed ranges the library's Mapping cannot follow: those that
// mremap() moves or shrinks, reservations, shared anonymous memory.
using Region = base::Region;

}  // namespace mmapdemo::stress
