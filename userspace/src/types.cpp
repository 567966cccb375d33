// SPDX-License-Identifier: GPL-2.0
#include <mmapdemo/types.hpp>

namespace mmapdemo {

std::string_view to_string(Strategy strategy) noexcept {
  const auto* const row = strategy_info(strategy);
  return row != nullptr ? row->name : "unknown";
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
