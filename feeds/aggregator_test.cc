#include "plumbline/feeds/aggregator.h"

#include <gtest/gtest.h>

#include "plumbline/clock.h"

namespace plumbline::feeds {
namespace {

constexpr int64_t kNow = 1714564800'000000000;
constexpr int64_t kSec = kNanosPerSecond;

Observation Obs(const std::string& source, const std::string& price, int64_t age_nanos,
                const std::string& symbol = "BTC/USD") {
  Observation o;
  o.source = source;
  o.symbol = symbol;
  o.price = Decimal::Parse(price).value();
  o.observed_unix_nanos = kNow - age_nanos;
  o.received_unix_nanos = kNow - age_nanos;
  return o;
}

const std::map<std::string, int64_t> kAges = {
    {"a", 10 * kSec}, {"b", 10 * kSec}, {"c", 10 * kSec}, {"d", 10 * kSec}, {"e", 2 * kSec}};

// These cases test freshness and quorum on deliberately spread prices: no outlier rejection.
SymbolPolicy Policy(uint32_t quorum) {
  SymbolPolicy p{"BTC/USD", quorum};
  p.outliers.mad_k = Decimal();
  return p;
}

TEST(Aggregator, OddCountTakesMiddlePriceExactly) {
  Mark m = Aggregate(Policy(3), {Obs("c", "67012.10", 1 * kSec), Obs("a", "67000.5", 2 * kSec),
                                 Obs("b", "67100", 3 * kSec)},
                     kAges, kNow);
  ASSERT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.price->ToString(), "67012.10");
  EXPECT_EQ(m.symbol, "BTC/USD");
  EXPECT_EQ(m.quorum, 3u);
  EXPECT_EQ(*m.newest_observation_unix_nanos, kNow - 1 * kSec);
}

TEST(Aggregator, EvenCountTakesExactMidpoint) {
  Mark m = Aggregate(Policy(3), {Obs("a", "100.01", 0), Obs("b", "100.02", 0), Obs("c", "90", 0),
                                 Obs("d", "200", 0)},
                     kAges, kNow);
  ASSERT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(m.price->ToString(), "100.015");  // one more digit, never rounded
  m = Aggregate(Policy(2), {Obs("a", "1.5", 0), Obs("b", "2.5", 0)}, kAges, kNow);
  EXPECT_EQ(m.price->ToString(), "2.0");
}

TEST(Aggregator, QuorumNotMetWithFreshSourcesIsStale) {
  Mark m = Aggregate(Policy(3), {Obs("a", "1", 0), Obs("b", "2", 0), Obs("c", "3", 11 * kSec)}, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kStale);
  EXPECT_FALSE(m.price.has_value());
  EXPECT_TRUE(m.contributions.empty());
  EXPECT_EQ(*m.newest_observation_unix_nanos, kNow);
}

TEST(Aggregator, TooFewSourcesEverIsInsufficient) {
  Mark m = Aggregate(Policy(3), {Obs("a", "1", 0), Obs("b", "2", 0)}, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kInsufficientSources);
  EXPECT_FALSE(m.price.has_value());
  EXPECT_EQ(*m.newest_observation_unix_nanos, kNow);
  m = Aggregate(Policy(3), {}, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kInsufficientSources);
  EXPECT_FALSE(m.newest_observation_unix_nanos.has_value());
}

TEST(Aggregator, AllStaleReportsNewestSeen) {
  Mark m = Aggregate(Policy(3), {Obs("a", "1", 20 * kSec), Obs("b", "2", 30 * kSec), Obs("c", "3", 15 * kSec)},
                     kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kStale);
  EXPECT_EQ(*m.newest_observation_unix_nanos, kNow - 15 * kSec);
}

TEST(Aggregator, PerSourceMaxAge) {
  // "e" allows 2 s only; at 3 s old it is not fresh while a/b at the same age are.
  std::vector<Observation> obs = {Obs("a", "1", 3 * kSec), Obs("b", "2", 3 * kSec), Obs("e", "3", 3 * kSec)};
  EXPECT_EQ(Aggregate(Policy(3), obs, kAges, kNow).status, MarkStatus::kStale);
  obs[2] = Obs("e", "3", 2 * kSec);  // exactly at the bound is fresh
  Mark m = Aggregate(Policy(3), obs, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(*m.newest_observation_unix_nanos, kNow - 2 * kSec);
  // A source with no configured max age never counts as fresh.
  obs[2] = Obs("unknown", "3", 0);
  EXPECT_EQ(Aggregate(Policy(3), obs, kAges, kNow).status, MarkStatus::kStale);
}

TEST(Aggregator, FutureTimestampsBeyondBoundAreNotFresh) {
  std::vector<Observation> obs = {Obs("a", "1", 0), Obs("b", "2", 0), Obs("c", "3", -11 * kSec)};
  Mark m = Aggregate(Policy(3), obs, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kStale);
  obs[2] = Obs("c", "3", -5 * kSec);  // slightly ahead: tolerated within the same bound
  m = Aggregate(Policy(3), obs, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kOk);
  EXPECT_EQ(*m.newest_observation_unix_nanos, kNow + 5 * kSec);
}

TEST(Aggregator, ContributionsAreFreshOnesSortedBySource) {
  Mark m = Aggregate(Policy(2), {Obs("d", "4", 0), Obs("b", "2", 0), Obs("c", "3", 60 * kSec), Obs("a", "1", 0)},
                     kAges, kNow);
  ASSERT_EQ(m.status, MarkStatus::kOk);
  ASSERT_EQ(m.contributions.size(), 3u);
  EXPECT_EQ(m.contributions[0].source, "a");
  EXPECT_EQ(m.contributions[1].source, "b");
  EXPECT_EQ(m.contributions[2].source, "d");
  EXPECT_EQ(m.price->ToString(), "2");
}

TEST(Aggregator, OtherSymbolsAndDuplicateSourcesDoNotVote) {
  Mark m = Aggregate(Policy(3), {Obs("a", "1", 0), Obs("b", "2", 0), Obs("c", "3", 0, "ETH/USD")}, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kInsufficientSources);
  m = Aggregate(Policy(3), {Obs("a", "1", 0), Obs("a", "5", 1), Obs("b", "2", 0)}, kAges, kNow);
  EXPECT_EQ(m.status, MarkStatus::kInsufficientSources);
}

TEST(Aggregator, Deterministic) {
  std::vector<Observation> obs = {Obs("c", "3.30", 0), Obs("a", "3.3", 0), Obs("b", "3.300", 0), Obs("d", "3.31", 0)};
  std::vector<Observation> reversed(obs.rbegin(), obs.rend());
  Mark m1 = Aggregate(Policy(3), obs, kAges, kNow);
  Mark m2 = Aggregate(Policy(3), reversed, kAges, kNow);
  ASSERT_EQ(m1.status, MarkStatus::kOk);
  // Equal values in different representations: the stable, source-ordered sort picks the same text.
  EXPECT_EQ(m1.price->ToString(), m2.price->ToString());
  ASSERT_EQ(m1.contributions.size(), m2.contributions.size());
  for (size_t i = 0; i < m1.contributions.size(); ++i) {
    EXPECT_EQ(m1.contributions[i].source, m2.contributions[i].source);
  }
}

}  // namespace
}  // namespace plumbline::feeds
