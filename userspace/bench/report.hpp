// SPDX-License-Identifier: GPL-2.0
// The results of a run as JSON (nlohmann/json, header-only, so the static
// guest binaries need no library for it). Member order is kept: the
// documents are read by people as well as by scripts/bench/bench-report.py.
#pragma once

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace mmapdemo::bench {

using Json = nlohmann::ordered_json;

// {"median", "spread", "n"}; a NaN median or spread becomes null.
void to_json(Json& json, const Summary& summary);
// One row: part, op, backend, variant, size, unit, higher_is_better, value,
// baseline, ratio (null without one) and more_ratios (by name).
void to_json(Json& json, const Row& row);

// {"schema", "env", "rows", "notes"}: env as the caller found it.
[[nodiscard]] Json results_json(const Results& results, Json env);

}  // namespace mmapdemo::bench
