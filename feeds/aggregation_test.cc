#include "plumbline/feeds/aggregation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

namespace plumbline::feeds {
namespace {

Decimal D(const std::string& s) { return Decimal::Parse(s).value(); }

// Every file in tests/vectors/aggregation/: inputs -> the exact expected text of the outputs.
TEST(AggregationVectors, AllFilesMatchByteForByte) {
  size_t files = 0;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(PLUMBLINE_AGGREGATION_VECTORS)) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream in(path);
    const nlohmann::json doc = nlohmann::json::parse(in);
    OutlierRule rule;
    rule.mad_k = D(doc["rule"]["mad_k"].get<std::string>());
    rule.min_band = D(doc["rule"]["min_band"].get<std::string>());
    std::vector<Quote> quotes;
    std::deque<std::string> names;  // Quote::source borrows
    for (const auto& q : doc["quotes"]) {
      names.push_back(q["source"].get<std::string>());
      quotes.push_back({names.back(), D(q["price"].get<std::string>()),
                        D(q["confidence"].get<std::string>()), q["weight"].get<uint32_t>()});
    }
    Result<Aggregated> got = AggregateQuotes(quotes, rule);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->price.ToString(), doc["expected"]["price"].get<std::string>());
    EXPECT_EQ(got->confidence.ToString(), doc["expected"]["confidence"].get<std::string>());
    std::vector<std::string> outliers;
    for (size_t i : got->outliers) outliers.emplace_back(quotes[i].source);
    EXPECT_EQ(outliers, doc["expected"]["outliers"].get<std::vector<std::string>>());
    // Input order never matters.
    std::reverse(quotes.begin(), quotes.end());
    Result<Aggregated> reversed = AggregateQuotes(quotes, rule);
    ASSERT_TRUE(reversed.ok());
    EXPECT_EQ(reversed->price.ToString(), got->price.ToString());
    EXPECT_EQ(reversed->confidence.ToString(), got->confidence.ToString());
    ++files;
  }
  EXPECT_GE(files, 10u);
}

TEST(Aggregation, PythExamplesInline) {
  std::vector<Quote> q;
  std::deque<std::string> names;
  const char* expected[][2] = {{"100", "10"}, {"145", "55"}, {"200", "90"}, {"245", "85"}};
  for (int i = 1; i <= 4; ++i) {
    names.push_back("p" + std::to_string(i));
    q.push_back({names.back(), Decimal::FromInt(100 * i), Decimal::FromInt(10 * i), 1});
    Result<Aggregated> a = AggregateQuotes(q, OutlierRule{});
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->price.ToString(), expected[i - 1][0]);
    EXPECT_EQ(a->confidence.ToString(), expected[i - 1][1]);
  }
}

TEST(Aggregation, SpreadConfidenceIsHalfTheSpreadExactly) {
  Observation o;
  o.price = D("100");
  o.bid = D("99.99");
  o.ask = D("100.02");
  EXPECT_EQ(SpreadConfidence(o).value().ToString(), "0.015");
  o.bid.reset();
  EXPECT_TRUE(SpreadConfidence(o).value().is_zero());
}

// Half the spread, exactly, at the quote's scale or one digit more; refused (never rounded) when
// that digit does not exist (scale 30) or the value would pass 36 digits.
TEST(Aggregation, SpreadConfidenceIsExactAtItsBoundaries) {
  std::mt19937_64 rng(7);
  const __int128 e35 = Decimal::Parse("100000000000000000000000000000000000").value().units();  // 10^35
  const __int128 bases[] = {1, 99, 123456789, e35 / 7, 2 * e35 - 3, 9 * e35};
  for (int i = 0; i < 20000; ++i) {
    const int scale = static_cast<int>(rng() % 31);
    const __int128 base = bases[rng() % 6];
    __int128 bid = base, ask = base + static_cast<__int128>(rng() % 1000) + (i % 5 == 0 ? e35 / 3 : 0);
    if (i % 7 == 0) {  // a spread around 2 x 10^35, where an odd one times 5 reaches 37 digits
      bid = 1 + static_cast<__int128>(rng() % 4);
      ask = 2 * e35 + static_cast<__int128>(rng() % 5) - 2;
    }
    if (ask >= 10 * e35) continue;
    Observation o;
    o.bid = Decimal::FromUnits(bid, scale).value();
    o.ask = Decimal::FromUnits(ask, scale).value();
    Result<Decimal> c = SpreadConfidence(o);
    const __int128 spread = ask - bid;
    if (spread % 2 != 0 && (scale == 30 || spread * 5 >= 10 * e35)) {
      ASSERT_FALSE(c.ok()) << i;
      EXPECT_EQ(c.status().code(), Code::kOutOfRange);
      continue;
    }
    ASSERT_TRUE(c.ok()) << i << ": " << c.status().ToString();
    EXPECT_EQ(c->scale(), spread % 2 == 0 ? scale : scale + 1);
    EXPECT_TRUE(c->units() * 2 == (spread % 2 == 0 ? spread : spread * 10)) << i;  // exactly half
  }
}

TEST(Aggregation, BidAboveAskIsRefused) {
  Observation o;
  o.price = D("100");
  o.bid = D("100.5");
  o.ask = D("100.4");
  Result<Decimal> c = SpreadConfidence(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("crossed quote: bid 100.5 > ask 100.4"), std::string::npos);
}

TEST(Aggregation, ZeroOrNegativePricesAreRefused) {
  for (const char* bad : {"0", "-1"}) {
    Result<Aggregated> a = AggregateQuotes({{"a", D("100"), D("0"), 1}, {"z", D(bad), D("0"), 1}}, OutlierRule{});
    ASSERT_FALSE(a.ok());
    EXPECT_NE(a.status().message().find("source z: price must be > 0"), std::string::npos);
  }
  EXPECT_FALSE(AggregateQuotes({}, OutlierRule{}).ok());
  EXPECT_FALSE(AggregateQuotes({{"a", D("1"), D("-1"), 1}}, OutlierRule{}).ok());
  EXPECT_FALSE(AggregateQuotes({{"a", D("1"), D("0"), 0}}, OutlierRule{}).ok());
}

TEST(Aggregation, MixedScalesStayExact) {
  Result<Aggregated> a = AggregateQuotes({{"a", D("67000.5"), D("0"), 1}, {"b", D("67000.25"), D("0"), 1}}, OutlierRule{});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->price.ToString(), "67000.375");
}

// The 64-bit fast path and the 128-bit path give the same marks, text for text, over random
// symbols: mixed scales, weights, spreads, outliers, even counts and every outlier rule.
TEST(Aggregation, FastPathMatchesWidePath) {
  std::mt19937_64 rng(20261122);
  auto pick = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
  const OutlierRule rules[] = {OutlierRule{}, {Decimal::FromInt(0), D("0.001")}, {D("2.5"), D("0")}};
  std::deque<std::string> names;
  for (int round = 0; round < 20000; ++round) {
    std::vector<Quote> quotes(pick(1, 12));
    const int64_t base = static_cast<int64_t>(pick(1, 1'000'000'000'000));
    for (Quote& q : quotes) {
      names.push_back("s" + std::to_string(names.size() % 64));
      q.source = names.back();
      const int scale = static_cast<int>(pick(0, 8));
      const int64_t units = std::max<int64_t>(1, base + static_cast<int64_t>(pick(0, 2000)) - 1000 +
                                                     (pick(0, 9) == 0 ? base / 2 : 0));
      q.price = Decimal::FromUnits(units, scale).value();
      q.confidence = pick(0, 3) == 0 ? Decimal() : Decimal::FromUnits(pick(0, 5000), static_cast<int>(pick(0, 9))).value();
      q.weight = static_cast<uint32_t>(pick(0, 4) == 0 ? pick(2, 5) : 1);
    }
    const OutlierRule& rule = rules[round % 3];
    Aggregated fast, wide;
    ASSERT_TRUE(AggregateQuotesInto(quotes, rule, &fast).ok());
    ASSERT_TRUE(detail::AggregateQuotesWide(quotes, rule, &wide).ok());
    ASSERT_EQ(fast.price.ToString(), wide.price.ToString()) << "round " << round;
    ASSERT_EQ(fast.confidence.ToString(), wide.confidence.ToString()) << "round " << round;
    ASSERT_EQ(fast.kept, wide.kept) << "round " << round;
    ASSERT_EQ(fast.outliers, wide.outliers) << "round " << round;
  }
}

// The unit-weight fast path (up to 16 quotes of weight 1: sorting and merge networks) against the
// general 64-bit path and the 128-bit path: same status, same text, same kept and outliers, over
// random symbols of 1..17 quotes with ties, mixed scales, every outlier rule, and the boundaries
// where the fast path must hand over: values at and beyond 2^59 units at the common scale, scales
// up to 30 (a zero confidence there still fits), a weight of 2, rule factors beyond 2^63 or
// scale 20, every quote an outlier (mad_k < 1), and an odd midpoint at scale 30 (an error).
TEST(Aggregation, UnitWeightFastPathMatchesGeneralPaths) {
  std::mt19937_64 rng(20261123);
  auto pick = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
  const OutlierRule rules[] = {OutlierRule{},
                               {Decimal::FromInt(0), D("0.001")},
                               {D("2.5"), D("0")},
                               {D("0.5"), D("0")},
                               {D("3"), D("-1")},
                               {D("1.00000000000000000001"), D("0.001")},
                               {D("20000000000000000000"), D("0.001")},
                               {D("5"), D("0.0000000000000000000001")}};
  const int64_t limit = int64_t{1} << 59;
  std::deque<std::string> names;
  size_t fast_cases = 0;
  for (int round = 0; round < 60000; ++round) {
    std::vector<Quote> quotes(pick(1, 17));
    const int kind = static_cast<int>(pick(0, 9));
    const int64_t base = kind == 0 ? limit - static_cast<int64_t>(pick(0, 3))  // at the limit
                         : kind == 1 ? static_cast<int64_t>(pick(1, 40))       // tiny: ties and zero MAD
                                     : static_cast<int64_t>(pick(1, 1'000'000'000'000));
    const int common = kind == 2 ? 30 : static_cast<int>(pick(0, 8));
    for (Quote& q : quotes) {
      names.push_back("s" + std::to_string(names.size() % 64));
      q.source = names.back();
      if (kind == 0) {
        q.price = Decimal::FromUnits(base - static_cast<int64_t>(pick(0, 5)) + 2, 0).value();
      } else if (kind == 2) {  // scale 30: prices of a few units, confidence zero at scale 0
        q.price = Decimal::FromUnits(static_cast<int64_t>(pick(1, 9)), 30).value();
        q.confidence = Decimal();
      } else {
        const int scale = static_cast<int>(pick(0, static_cast<uint64_t>(common)));
        const int64_t jitter = static_cast<int64_t>(pick(0, 2000)) - 1000;
        const int64_t units = std::max<int64_t>(1, base + (kind == 1 ? jitter % 3 : jitter) +
                                                       (pick(0, 9) == 0 ? base / 2 : 0));
        q.price = Decimal::FromUnits(units, scale).value();
      }
      if (kind != 2) {
        q.confidence = pick(0, 3) == 0 ? Decimal()
                                       : Decimal::FromUnits(pick(0, 5000), static_cast<int>(pick(0, 9))).value();
      }
      q.weight = pick(0, 40) == 0 ? 2 : 1;
    }
    const OutlierRule& rule = rules[pick(0, 7)];
    Aggregated fast, general, wide;
    const Status sf = AggregateQuotesInto(quotes, rule, &fast);
    const Status sg = detail::AggregateQuotesGeneral(quotes, rule, &general);
    const Status sw = detail::AggregateQuotesWide(quotes, rule, &wide);
    ASSERT_EQ(sf.code(), sg.code()) << "round " << round << ": " << sf.ToString() << " vs " << sg.ToString();
    ASSERT_EQ(sf.code(), sw.code()) << "round " << round;
    if (!sf.ok()) continue;
    ASSERT_EQ(fast.price.ToString(), general.price.ToString()) << "round " << round;
    ASSERT_EQ(fast.confidence.ToString(), general.confidence.ToString()) << "round " << round;
    ASSERT_EQ(fast.kept, general.kept) << "round " << round;
    ASSERT_EQ(fast.outliers, general.outliers) << "round " << round;
    ASSERT_EQ(fast.price.ToString(), wide.price.ToString()) << "round " << round;
    ASSERT_EQ(fast.confidence.ToString(), wide.confidence.ToString()) << "round " << round;
    ASSERT_EQ(fast.kept, wide.kept) << "round " << round;
    ++fast_cases;
  }
  EXPECT_GT(fast_cases, 40000u);
}

// |a - b| > f x b (or >=), against Decimal arithmetic, on both sides of the 64-bit fast case:
// equal and mixed scales, values at 2^63, exact equality (where only `inclusive` holds).
TEST(Aggregation, RelativeMoveExceedsMatchesDecimalArithmetic) {
  std::mt19937_64 rng(99);
  const int64_t tops[] = {1000, 1'000'000'000, INT64_MAX / 3, INT64_MAX};
  int equal_cases = 0;
  for (int i = 0; i < 20000; ++i) {
    const int64_t top = tops[rng() % 4];
    const int scale = static_cast<int>(rng() % 9);
    const Decimal b = Decimal::FromUnits(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(top)), scale).value();
    const Decimal f = Decimal::FromUnits(static_cast<int64_t>(rng() % 2000), static_cast<int>(rng() % 5)).value();
    Decimal a;
    if (i % 3 == 0) {  // exactly b x (1 + f) when representable: the boundary itself
      Result<Decimal> move = Decimal::Mul(b, f, b.scale() + f.scale(), Rounding::kFloor);
      if (!move.ok()) continue;
      Result<Decimal> sum = Decimal::Add(b, *move);
      if (!sum.ok()) continue;
      a = *sum;
    } else {
      const int a_scale = i % 2 == 0 ? scale : static_cast<int>(rng() % 9);
      a = Decimal::FromUnits(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(top)), a_scale).value();
    }
    const Decimal diff = Decimal::Sub(a, b).value().Abs();
    Result<Decimal> bound = Decimal::Mul(f, b, f.scale() + b.scale(), Rounding::kFloor);  // exact
    if (!bound.ok()) continue;
    const auto order = diff <=> *bound;
    equal_cases += order == std::strong_ordering::equal;
    EXPECT_EQ(RelativeMoveExceeds(a, b, f, false), order == std::strong_ordering::greater) << i;
    EXPECT_EQ(RelativeMoveExceeds(a, b, f, true), order != std::strong_ordering::less) << i;
  }
  EXPECT_GT(equal_cases, 1000);
}

// With mad_k below 1 every quote can be an outlier: a clear error, never a price from nothing.
TEST(Aggregation, EveryQuoteAnOutlierIsAnError) {
  const OutlierRule rule{D("0.4"), D("0")};
  std::vector<Quote> quotes = {{"a", D("1"), D("0"), 1}, {"b", D("3"), D("0"), 1},
                               {"c", D("5"), D("0"), 1}, {"d", D("7"), D("0"), 1}};
  Result<Aggregated> a = AggregateQuotes(quotes, rule);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kFailedPrecondition);
  for (Quote& q : quotes) q.weight = 2;  // the general (weighted) path says the same
  EXPECT_EQ(AggregateQuotes(quotes, rule).status().code(), Code::kFailedPrecondition);
}

// Values beyond the 64-bit path (2^59 units at the common scale) take the 128-bit path, exactly.
TEST(Aggregation, ValuesBeyondSixtyFourBitsStayExact) {
  Result<Aggregated> big = AggregateQuotes({{"a", D("1000000000000000001"), D("0"), 1},
                                            {"b", D("1000000000000000002"), D("0"), 1},
                                            {"c", D("1000000000000000004"), D("0"), 1},
                                            {"d", D("1000000000000000007"), D("0"), 1}},
                                           OutlierRule{});
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->price.ToString(), "1000000000000000003");
  EXPECT_EQ(big->confidence.ToString(), "1");
  Result<Aggregated> fine = AggregateQuotes({{"a", D("0.000000000000000000000000000001"), D("0"), 1},
                                             {"b", D("0.000000000000000000000000000002"), D("0"), 1}},
                                            OutlierRule{});
  ASSERT_FALSE(fine.ok());  // the midpoint needs a 31st decimal: refused, never rounded
  Result<Aggregated> wide = AggregateQuotes({{"a", D("123456789012.123456789012"), D("0.000000000001"), 1},
                                             {"b", D("123456789012.123456789013"), D("0"), 1},
                                             {"c", D("123456789012.123456789014"), D("0"), 1}},
                                            OutlierRule{});
  ASSERT_TRUE(wide.ok()) << wide.status().ToString();
  EXPECT_EQ(wide->price.ToString(), "123456789012.123456789013");
  EXPECT_EQ(wide->confidence.ToString(), "0.000000000001");
}

}  // namespace
}  // namespace plumbline::feeds
