// SPDX-License-Identifier: GPL-2.0
#include <mmapdemo/types.hpp>

namespace mmapdemo {

std::string_view to_string(Strategy strategy) noexcept {
  switch (strategy) {
    case Strategy::remap:
      return "remap";
    case Strategy::fault:
      return "fault";
    case Strategy::faultaround:
      return "faultaround";
    case Strategy::prefault:
      return "prefault";
    case Strategy::huge:
      return "huge";
  }
  return "unknown";
}

std::string_view to_string(Backend backend) noexcept {
  switch (backend) {
    case Backend::kmalloc:
      return "kmalloc";
    case Backend::vmalloc:
      return "vmalloc";
    case Backend::chunked:
      return "chunked";
  }
  return "unknown";
}

std::optional<Strategy> parse_strategy(std::string_view name) noexcept {
  for (const auto strategy : all_strategies) {
    if (name == to_string(strategy)) return strategy;
  }
  return std::nullopt;
}

std::optional<Backend> parse_backend(std::string_view name) noexcept {
  for (const auto backend : all_backends) {
    if (name == to_string(backend)) return backend;
  }
  return std::nullopt;
}

}  // namespace mmapdemo
