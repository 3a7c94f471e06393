// The aggregator: one Mark per symbol per round from the sources' latest observations.
//
// Rule (DESIGN.md, "Aggregation"):
//   1. fresh = observations with now - observed_time <= that source's max age (and not in the
//      future by more than the same bound);
//   2. if fresh count >= quorum: status ok, price = median of fresh prices. Even count: the exact
//      midpoint of the two middle prices (Decimal::Midpoint), so no rounding ever happens;
//   3. else if the total number of sources with any observation >= quorum: status stale, no price;
//   4. else: status insufficient_sources, no price.
//   newest_observation_time = newest fresh observation when ok; otherwise the newest seen (or
//   none). Contributions are the fresh observations, sorted by source.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plumbline/market.h"

namespace plumbline::feeds {

struct SymbolPolicy {
  std::string symbol;
  uint32_t quorum = 3;
};

// `max_age_nanos_by_source` gives each source's max age; a source missing from it is never fresh.
Mark Aggregate(const SymbolPolicy& policy, const std::vector<Observation>& latest_per_source,
               const std::map<std::string, int64_t>& max_age_nanos_by_source, int64_t now_unix_nanos);

}  // namespace plumbline::feeds
