// The aggregator: one Mark per symbol per round from the sources' latest observations.
//
// SymbolPolicy holds every per-symbol rule; the stateful round engine that applies them (outliers,
// confidence, clamping, sessions, tokens, publish reasons, kill switch) is MarkEngine in
// plumbline/feeds/mark_engine.h, and Aggregate() below is its one-shot form (no previous round).
//
// Basic rule (DESIGN.md, "Aggregation"; full rules in docs/oracle.md):
//   1. fresh = observations with now - observed_time <= that source's max age (and not in the
//      future by more than the same bound);
//   2. if fresh count >= quorum and a strict majority of them are not outliers: status ok, price =
//      the weighted median of the sources' Pyth votes (see plumbline/feeds/aggregation.h). Even
//      count: the exact midpoint of the two middle values, so no rounding ever happens;
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

#include "plumbline/feeds/aggregation.h"
#include "plumbline/market.h"
#include "plumbline/multiplier.h"

namespace plumbline::feeds {

// A tokenized stock (asset class token): `multiplier` shares of `underlying` per token.
struct TokenPolicy {
  std::string underlying;                                   // an equity symbol in the config
  MultiplierSchedule multiplier;
  Decimal basis_bound = Decimal::Parse("0.02").value();     // |basis| above this is flagged
  // Outside the regular session the token's venue median leads; its confidence is widened by
  // this factor (rounded up).
  Decimal off_session_confidence_factor = Decimal::FromInt(2);
};

struct SymbolPolicy {
  SymbolPolicy() = default;
  SymbolPolicy(std::string symbol_name, uint32_t quorum_count) : symbol(std::move(symbol_name)), quorum(quorum_count) {}

  std::string symbol;
  uint32_t quorum = 3;
  AssetClass asset_class = AssetClass::kCrypto;
  std::map<std::string, uint32_t> weights;  // source -> weight; sources not listed weigh 1
  OutlierRule outliers;
  // Per-round move bound as a fraction of the last accepted price; 0 = unbounded. A larger move
  // holds the previous price (status clamped) until it persists for `confirm_rounds`
  // consecutive rounds in the same direction, then it is accepted.
  Decimal max_move = Decimal::Parse("0.1").value();
  uint32_t confirm_rounds = 3;
  // Publish reasons: deviation from the last update >= this fraction, or heartbeat.
  Decimal deviation = Decimal::Parse("0.005").value();
  int64_t heartbeat_ms = 60000;
  // Max age per equity session (tightens the sources' own max age). Absent = sources' only.
  std::map<Session, int64_t> session_max_age_ms;
  bool halted = false;  // kill switch at start-up (MarkEngine::SetHalted changes it at run time)
  std::optional<TokenPolicy> token;
};

// `max_age_nanos_by_source` gives each source's max age; a source missing from it is never fresh.
Mark Aggregate(const SymbolPolicy& policy, const std::vector<Observation>& latest_per_source,
               const std::map<std::string, int64_t>& max_age_nanos_by_source, int64_t now_unix_nanos);

}  // namespace plumbline::feeds
