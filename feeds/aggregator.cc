#include "plumbline/feeds/aggregator.h"

#include <algorithm>

namespace plumbline::feeds {

Mark Aggregate(const SymbolPolicy& policy, const std::vector<Observation>& latest_per_source,
               const std::map<std::string, int64_t>& max_age_nanos_by_source, int64_t now_unix_nanos) {
  Mark mark;
  mark.symbol = policy.symbol;
  mark.quorum = policy.quorum;

  // Keep one observation per source (the newest), so a caller passing duplicates cannot vote twice.
  std::map<std::string, const Observation*> by_source;
  for (const Observation& o : latest_per_source) {
    if (o.symbol != policy.symbol) continue;
    auto [it, inserted] = by_source.emplace(o.source, &o);
    if (!inserted && o.observed_unix_nanos > it->second->observed_unix_nanos) it->second = &o;
  }

  std::optional<int64_t> newest_seen;
  std::vector<const Observation*> fresh;
  for (const auto& [source, o] : by_source) {
    if (!newest_seen || o->observed_unix_nanos > *newest_seen) newest_seen = o->observed_unix_nanos;
    auto age = max_age_nanos_by_source.find(source);
    if (age == max_age_nanos_by_source.end()) continue;
    const int64_t delta = now_unix_nanos - o->observed_unix_nanos;
    // Same bound both ways: a source clock far ahead is as untrustworthy as an old reading.
    if (delta <= age->second && -delta <= age->second) fresh.push_back(o);
  }

  // A quorum of zero would let an empty set "agree"; one fresh source is the least we accept.
  const size_t needed = std::max<uint32_t>(policy.quorum, 1);
  if (fresh.size() >= needed) {
    std::vector<const Observation*> by_price = fresh;
    std::stable_sort(by_price.begin(), by_price.end(),
                     [](const Observation* a, const Observation* b) { return a->price < b->price; });
    const size_t n = by_price.size();
    std::optional<Decimal> median;
    if (n % 2 == 1) {
      median = by_price[n / 2]->price;
    } else {
      Result<Decimal> mid = Decimal::Midpoint(by_price[n / 2 - 1]->price, by_price[n / 2]->price);
      if (mid.ok()) median = *mid;
    }
    // Midpoint can only fail on overflow near 10^36; then no price is better than a wrong one.
    if (median) {
      mark.status = MarkStatus::kOk;
      mark.price = *median;
      int64_t newest = fresh.front()->observed_unix_nanos;
      for (const Observation* o : fresh) newest = std::max(newest, o->observed_unix_nanos);
      mark.newest_observation_unix_nanos = newest;
      for (const Observation* o : fresh) mark.contributions.push_back(*o);  // by_source order
      return mark;
    }
  }

  mark.status = by_source.size() >= needed ? MarkStatus::kStale : MarkStatus::kInsufficientSources;
  mark.newest_observation_unix_nanos = newest_seen;
  return mark;
}

}  // namespace plumbline::feeds
