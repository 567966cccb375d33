// SPDX-License-Identifier: GPL-2.0
#include "report.hpp"

#include <utility>

namespace mmapdemo::bench {

void to_json(Json& json, const Summary& summary) {
  json = Json{{"median", summary.median}, {"spread", summary.spread}, {"n", summary.n}};
}

void to_json(Json& json, const Row& row) {
  Json more = Json::object();
  for (const auto& [name, ratio] : row.more_ratios) more[name] = ratio;
  json = Json{{"part", row.part},
              {"op", row.op},
              {"backend", row.backend},
              {"variant", row.variant},
              {"size", row.size},
              {"unit", row.unit},
              {"higher_is_better", row.higher_is_better},
              {"value", row.value},
              {"baseline", row.baseline},
              {"ratio", row.ratio ? Json(*row.ratio) : Json(nullptr)},
              {"more_ratios", std::move(more)}};
}

Json results_json(const Results& results, Json env) {
  return Json{{"schema", "mmapdemo-bench/1"},
              {"env", std::move(env)},
              {"rows", results.rows},
              {"notes", results.notes}};
}

}  // namespace mmapdemo::bench
