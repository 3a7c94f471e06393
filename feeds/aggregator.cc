#include "plumbline/feeds/aggregator.h"

#include "plumbline/feeds/mark_engine.h"

namespace plumbline::feeds {

Mark Aggregate(const SymbolPolicy& policy, const std::vector<Observation>& latest_per_source,
               const std::map<std::string, int64_t>& max_age_nanos_by_source, int64_t now_unix_nanos) {
  // A crypto symbol needs no calendar; other classes get the one-shot crypto treatment here.
  SymbolPolicy crypto = policy;
  crypto.asset_class = AssetClass::kCrypto;
  crypto.token.reset();
  auto engine = MarkEngine::Create({crypto}, max_age_nanos_by_source, nullptr);
  std::vector<Mark> marks =
      engine.value()->Round([&](const std::string&) { return latest_per_source; }, now_unix_nanos);
  return std::move(marks.front());
}

}  // namespace plumbline::feeds
