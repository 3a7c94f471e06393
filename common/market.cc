#include "plumbline/market.h"

namespace plumbline {

const char* MarkStatusName(MarkStatus status) {
  switch (status) {
    case MarkStatus::kOk: return "ok";
    case MarkStatus::kStale: return "stale";
    case MarkStatus::kInsufficientSources: return "insufficient_sources";
  }
  return "unknown";
}

std::optional<MarkStatus> ParseMarkStatus(std::string_view name) {
  for (MarkStatus s : {MarkStatus::kOk, MarkStatus::kStale, MarkStatus::kInsufficientSources}) {
    if (name == MarkStatusName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace plumbline
