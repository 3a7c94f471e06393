#include "plumbline/reserve_status.h"

namespace plumbline {

const char* ReserveStatusName(ReserveStatus s) {
  switch (s) {
    case ReserveStatus::kFullyBacked: return "fully_backed";
    case ReserveStatus::kUnderBacked: return "under_backed";
    case ReserveStatus::kStale: return "stale";
    case ReserveStatus::kUnknown: return "unknown";
  }
  return "unknown";
}

std::optional<ReserveStatus> ParseReserveStatus(std::string_view name) {
  for (ReserveStatus s : {ReserveStatus::kFullyBacked, ReserveStatus::kUnderBacked, ReserveStatus::kStale,
                          ReserveStatus::kUnknown}) {
    if (name == ReserveStatusName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace plumbline
